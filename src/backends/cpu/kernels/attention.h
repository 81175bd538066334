// Causal self-attention with grouped-query heads, over right-padded sequences. Scores are q.k * scale, optionally
// soft-capped, and a sliding window may hide old keys (AttentionScoring in s.scoring; by default plain softmax(q.k /
// sqrt(D))).
// Layouts follow the projections' output: q [B, T, H, D], k and v [B, T, Hkv, D], out [B, T, H, D];
// query head h reads kv head h / (H / Hkv). Rows at or beyond lengths[b] are padding: their output is zero
// and no real row attends to them.
// Memory is O(B*T*H) beyond the inputs: only the per-row log-sum-exp is saved, and the backward pass
// recomputes the probabilities one (sequence, head) at a time, as flash attention does.
// Work is tiled: blocks of kAttentionRowBlock query rows score only the key tiles (kAttentionKeyTile keys) some row
// of the block may see (so causal attention costs about half of L x L, and packed or prefix-shared rows skip hidden
// tiles); scratch is O(kAttentionRowBlock x T) per thread. Results are bit-identical run to run for a fixed thread
// count.
#pragma once
#include <cstdint>

#include "backends/attention_shape.h"
#include "core/bf16.h"

namespace tandem {

// 128 rows: the per-block GEMMs have K = 128 for the score and key/value gradients (64 ran about 16% slower at
// T = 2048 in bench_attention; 256 slower again, its scratch no longer in L2).
constexpr int64_t kAttentionRowBlock = 128;
constexpr int64_t kAttentionKeyTile = 64;  // the granularity at which hidden keys are skipped

// q, k, v and out are stored as S (f32, bf16 or f64); scores, softmax, lse and gradients are in compute_t<S>.

// lse: [B, H, T], saved for backward.
template <typename S>
void attention_forward(S* out, compute_t<S>* lse, const S* q, const S* k, const S* v, const int32_t* lengths,
                       const AttentionShape& s, const AttentionMask& mask = {});

// dq, dk, dv += gradients.
template <typename S, typename F = compute_t<S>>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const S* out, const F* lse, const S* q, const S* k,
                        const S* v, const int32_t* lengths, const AttentionShape& s, const AttentionMask& mask = {});

}  // namespace tandem
