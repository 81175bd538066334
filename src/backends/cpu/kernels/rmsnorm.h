// RMSNorm as in Hugging Face Llama: y = x / sqrt(mean(x^2) + eps) * weight, per row of `dim` values.
// Also used per head (rows = tokens * heads, dim = head_dim) for Qwen3's q/k norm.
#pragma once
#include <cstdint>
#include <type_traits>

namespace tandem {

// rstd[r] = 1 / sqrt(mean(x_r^2) + eps) is saved for the backward pass.
template <typename F>
void rmsnorm_forward(F* out, F* rstd, const F* x, const F* weight, int64_t rows, int64_t dim, double eps);

// dx += dL/dx, dweight += dL/dweight (skipped when dweight is null: a frozen norm).
template <typename F>
void rmsnorm_backward(F* dx, std::type_identity_t<F*> dweight, const F* dout, const F* x, const F* weight, const F* rstd, int64_t rows,
                      int64_t dim);

}  // namespace tandem
