// The log-softmax half of the fused LM head (token_logprobs), one block per scored row of a logits chunk, as the
// CPU backend's kernels/logprobs.cpp: soft cap, row max, log-sum-exp, the target's log-prob and, with a gradient,
// dlogits = (grad * onehot(target) - grad * softmax) * cap slope. Reductions run in a fixed order (the same bits on
// every run).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

struct LogsoftmaxRows {
  float* logits;           // [rows, vocab] f32: capped in place when softcap > 0; dlogits in place (f32 GEMMs)
  int64_t rows, vocab;
  const int32_t* target;   // [rows], each in [0, vocab) (checked by the caller)
  Out logp;                // [rows] or null: target logit - log-sum-exp
  In grad;                 // [rows] dL/dlogp or null: no gradient
  float softcap;           // > 0: logits z become softcap * tanh(z / softcap) first; 0: off
  void* dlogits_bf16;      // with grad: null writes dlogits over `logits` (f32); else [rows, vocab] bf16
};

void logsoftmax_rows(const LogsoftmaxRows& a, cudaStream_t stream);

}  // namespace tandem::cuda
