// The attention ops' checks on scoring options and head counts, shared by every backend's attention kernels so
// that a bad option is the same error on every device (it names the op and the option).
#pragma once
#include <cstdint>

#include "backends/attention_shape.h"
#include "core/check.h"

namespace tandem {

inline void check_attention_scoring(const char* op, const AttentionScoring& o) {
  TANDEM_CHECK(o.scale >= 0 && o.softcap >= 0 && o.window >= 0, op, ": scale (", o.scale, "), softcap (", o.softcap,
               ") and sliding window (", o.window, ") must be >= 0 (0: the default / off)");
}

inline void check_attention_heads(const char* op, int64_t heads, int64_t kv_heads) {
  TANDEM_CHECK(kv_heads > 0 && heads % kv_heads == 0, op, ": num_attention_heads (", heads,
               ") must be a multiple of num_key_value_heads (", kv_heads, ")");
}

}  // namespace tandem
