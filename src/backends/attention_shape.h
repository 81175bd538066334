// What one attention call computes, shared by the backend interface and its kernels: the batch geometry, how scores
// are formed, and the optional structure of packed rows and shared prefixes as host arrays (the kernels' view of
// AttentionMaskTensors).
#pragma once
#include <cstdint>

namespace tandem {

// How scores are formed, beyond plain causal softmax(q.k / sqrt(D)).
struct AttentionScoring {
  double scale = 0;    // scores = q.k * scale; 0: 1/sqrt(head_dim). Gemma-2: query_pre_attn_scalar^-0.5
  double softcap = 0;  // Gemma-2: scores = softcap * tanh(scores / softcap), before masking; 0: off
  int64_t window = 0;  // sliding window (Mistral, Gemma-2): query row t sees only keys j with t - j < window; 0: off
};

struct AttentionShape {
  int64_t batch, seq, heads, kv_heads, head_dim;
  AttentionScoring scoring = {};
};

// Optional attention structure for packed rows and shared prefixes, per token [B*T]: a query row t may attend to
// keys in [segment_start[t], t] and to keys [0, prefix_end[t]). Null arrays: plain causal attention. A sliding
// window (AttentionScoring::window) applies on top: a key must satisfy both.
struct AttentionMask {
  const int32_t* segment_start = nullptr;
  const int32_t* prefix_end = nullptr;
};

}  // namespace tandem
