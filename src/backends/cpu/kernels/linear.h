// Linear layer in Hugging Face layout: y[n, out] = x[n, in] @ W[out, in]^T (+ b[out]).
#pragma once
#include <cstdint>
#include <type_traits>

#include "core/bf16.h"

namespace tandem {

template <typename F>
void linear_forward(F* y, const F* x, const F* w, std::type_identity_t<const F*> bias, int64_t n, int64_t in, int64_t out);

// dx += dy @ W, dw += dy^T @ x, dbias += column sums of dy; each skipped when its pointer is null (frozen
// weights under LoRA cost no dW GEMM).
template <typename F>
void linear_backward(std::type_identity_t<F*> dx, std::type_identity_t<F*> dw, std::type_identity_t<F*> dbias, const F* dy, const F* x, const F* w, int64_t n, int64_t in,
                     int64_t out);

// bf16 weights: bf16 GEMMs with fp32 accumulation. y is f32 or bf16 (rounded once); bias f32 or null.
template <typename Y>
void linear_forward_bf16(Y* y, const bf16* x, const bf16* w, const float* bias, int64_t n, int64_t in, int64_t out);
// dy is rounded to bf16 for the GEMMs (as the backward of a bf16 matmul under autocast); gradients are f32.
void linear_backward_bf16(float* dx, float* dw, float* dbias, const float* dy, const bf16* x, const bf16* w,
                          int64_t n, int64_t in, int64_t out);

}  // namespace tandem
