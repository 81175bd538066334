// What one attention call computes, shared by the backend interface and its kernels: the batch geometry, and the
// optional structure of packed rows and shared prefixes as host arrays (the kernels' view of AttentionMaskTensors).
#pragma once
#include <cstdint>

namespace tandem {

struct AttentionShape {
  int64_t batch, seq, heads, kv_heads, head_dim;
};

// Optional attention structure for packed rows and shared prefixes, per token [B*T]: a query row t may attend to
// keys in [segment_start[t], t] and to keys [0, prefix_end[t]). Null arrays: plain causal attention.
struct AttentionMask {
  const int32_t* segment_start = nullptr;
  const int32_t* prefix_end = nullptr;
};

}  // namespace tandem
