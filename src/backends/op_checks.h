// Argument checks every backend makes before an op runs, so that a wrong size is the same error on every device:
// it names the op and the tensor.
#pragma once
#include <cstdint>

#include "backends/backend.h"
#include "core/check.h"

namespace tandem {

inline void need(const char* op, const Tensor& t, int64_t numel) {
  TANDEM_CHECK(t.numel() == numel, op, ": tensor ", t.name, " has ", t.numel(), " elements (shape ",
               shape_str(t.shape), "), expected ", numel);
}

// q [B, T, H, D], k and v [B, T, G, D], lengths [B], and the optional per-token mask arrays [B * T].
inline void check_attention_args(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& lengths, const AttentionShape& s, const AttentionMaskTensors& m) {
  const int64_t tokens = s.batch * s.seq;
  need(op, q, tokens * s.heads * s.head_dim), need(op, k, tokens * s.kv_heads * s.head_dim);
  need(op, v, k.numel()), need(op, lengths, s.batch);
  if (m.segment_start) need(op, *m.segment_start, tokens);
  if (m.prefix_end) need(op, *m.prefix_end, tokens);
}

}  // namespace tandem
