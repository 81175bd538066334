// LM head fused with log-softmax: log p(target | row) = (x W^T)[target] - logsumexp(x W^T) for each scored pair
// (row_index[k], target[k]) over x [rows, dim]. Rows without pairs cost nothing; a row may be scored against
// several targets (a shared prompt's last position predicts both the chosen and the rejected answer). At most
// `chunk_rows` x vocab logits exist at a time, so a 150k vocabulary never needs a [tokens x vocab] buffer.
#pragma once
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/bf16.h"

namespace tandem {

struct LogprobShape {
  int64_t rows, dim, vocab;
  int64_t chunk_rows;  // 0 picks a chunk of about 8M logits (logits_chunk_rows of backends/backend.h)
  double softcap = 0;  // Gemma-2's final_logit_softcapping: logits z -> softcap tanh(z / softcap); 0: off
};

struct ScoredPairs {
  const int32_t* row_index;
  const int32_t* target;
  int64_t count;
};

// Scratch buffers kept by the caller between calls: re-allocating tens of MB of logits every step costs page
// faults. Optional everywhere (null: local buffers).
// S is the storage type of x and W; logits, softmax and gradients are computed in C (f32 for bf16 storage).
template <typename S>
struct LogprobWorkspace {
  using C = std::conditional_t<std::is_same_v<S, bf16>, float, S>;
  std::vector<S> x_chunk, dlogits;  // dlogits: the logit gradient rounded to S for its GEMMs (bf16 only)
  std::vector<C> logits, dx_chunk;
};

// logp[k] for every pair.
template <typename F>
void token_logprobs_forward(F* logp, const F* x, const F* w, const ScoredPairs& pairs, const LogprobShape& s,
                            LogprobWorkspace<F>* ws = nullptr);

// Given grad[k] = dL/dlogp[k]: dx += dL/dx, dw += dL/dW (skipped when dw is null: a frozen LM head). Recomputes each chunk's logits. When `logp` is non-null
// it is filled as in the forward pass, which makes this a one-pass forward+backward for losses whose
// per-row gradient is known before the forward (e.g. SFT's token-mean NLL).
template <typename F>
void token_logprobs_backward(F* dx, F* dw, const F* grad, const F* x, const F* w, const ScoredPairs& pairs,
                             const LogprobShape& s, F* logp, LogprobWorkspace<F>* ws = nullptr);

// bf16 storage of x and W (bf16 GEMMs with fp32 accumulation, fp32 softmax); log-probs and gradients in f32.
void token_logprobs_forward(float* logp, const bf16* x, const bf16* w, const ScoredPairs& pairs,
                            const LogprobShape& s, LogprobWorkspace<bf16>* ws = nullptr);
void token_logprobs_backward(float* dx, float* dw, const float* grad, const bf16* x, const bf16* w,
                             const ScoredPairs& pairs, const LogprobShape& s, float* logp,
                             LogprobWorkspace<bf16>* ws = nullptr);

}  // namespace tandem
