// LayerNorm as torch.nn.LayerNorm (GPT-NeoX / Pythia): per row of `dim` values,
// y = (x - mean) * rstd * weight + bias, with the biased variance and rstd = 1 / sqrt(var + eps).
// W: the weight's, bias's and output's storage; X: the input's (the f32 residual stream, or W). Statistics, the
// saved mean and rstd and the gradients are in compute_t<W> (f32 for bf16).
#pragma once
#include <cstdint>

#include "core/bf16.h"

namespace tandem {

// mean[r] and rstd[r] are saved for the backward pass. bias may be null (no bias).
template <typename X, typename W>
void layernorm_forward(W* out, compute_t<W>* mean, compute_t<W>* rstd, const X* x, const W* weight, const W* bias,
                       int64_t rows, int64_t dim, double eps);

// dx += dL/dx; dweight += dL/dweight and dbias += dL/dbias, each skipped when null (a frozen or absent parameter).
template <typename X, typename W>
void layernorm_backward(compute_t<W>* dx, compute_t<W>* dweight, compute_t<W>* dbias, const compute_t<W>* dout,
                        const X* x, const W* weight, const compute_t<W>* mean, const compute_t<W>* rstd, int64_t rows,
                        int64_t dim);

}  // namespace tandem
