// Attention of new query rows over a KV cache, for generation: q [n, H, D] holds positions start..start+n-1; row i
// attends causally to cached keys/values [0, start + i] (k_cache, v_cache [>= start + n, G, D]). Query head h reads
// kv head h / (H / G). Scores follow `scoring` as the training kernel's do, the window on absolute positions: the
// query at position p sees cached key j iff p - j < window. The training kernel (attention.h) covers whole padded
// batches; this one, single sequences growing a token at a time.
#pragma once
#include <cstdint>

#include "backends/attention_shape.h"

namespace tandem {

template <typename F>
void attention_decode(F* out, const F* q, const F* k_cache, const F* v_cache, int64_t start, int64_t n,
                      int64_t heads, int64_t kv_heads, int64_t head_dim, const AttentionScoring& scoring = {});

}  // namespace tandem
