// RMSNorm as in Hugging Face Llama: y = x / sqrt(mean(x^2) + eps) * (weight + weight_offset), per row of `dim`
// values. weight_offset is 0 for Llama and 1 for Gemma, whose norms scale by (1 + weight).
// Also used per head (rows = tokens * heads, dim = head_dim) for Qwen3's q/k norm.
// W: the weight's and the output's storage; X: the input's (the f32 residual stream, or W). Statistics, the
// saved rstd and the gradients are in compute_t<W> (f32 for bf16).
#pragma once
#include <cstdint>

#include "core/bf16.h"

namespace tandem {

// rstd[r] = 1 / sqrt(mean(x_r^2) + eps) is saved for the backward pass.
template <typename X, typename W>
void rmsnorm_forward(W* out, compute_t<W>* rstd, const X* x, const W* weight, int64_t rows, int64_t dim, double eps,
                     double weight_offset = 0);

// dx += dL/dx, dweight += dL/dweight (skipped when dweight is null: a frozen norm).
template <typename X, typename W>
void rmsnorm_backward(compute_t<W>* dx, compute_t<W>* dweight, const compute_t<W>* dout, const X* x, const W* weight,
                      const compute_t<W>* rstd, int64_t rows, int64_t dim, double weight_offset = 0);

}  // namespace tandem
