// Linear layer in Hugging Face layout: y[n, out] = x[n, in] @ W[out, in]^T (+ b[out]).
#pragma once
#include <cstdint>
#include <type_traits>

namespace tandem {

template <typename F>
void linear_forward(F* y, const F* x, const F* w, std::type_identity_t<const F*> bias, int64_t n, int64_t in, int64_t out);

// dx += dy @ W, dw += dy^T @ x, dbias += column sums of dy; each skipped when its pointer is null (frozen
// weights under LoRA cost no dW GEMM).
template <typename F>
void linear_backward(std::type_identity_t<F*> dx, std::type_identity_t<F*> dw, std::type_identity_t<F*> dbias, const F* dy, const F* x, const F* w, int64_t n, int64_t in,
                     int64_t out);

}  // namespace tandem
