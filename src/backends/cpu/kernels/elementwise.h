// Elementwise kernels over n values: residual adds, dropout masks, gradient scaling and norms, logit soft-capping.
#pragma once
#include <cstdint>

#include "core/bf16.h"

namespace tandem {

// out = a + b (out may alias a or b). Each pointer has its own storage (a bf16 projection output joins the f32
// residual stream); the sum is computed in the compute type of out.
template <typename O, typename A, typename B>
void add_forward(O* out, const A* a, const B* b, int64_t n);
template <typename F>
void mul_forward(F* out, const F* a, const F* b, int64_t n);  // out = a * b
template <typename F>
void add_mul(F* acc, const F* a, const F* b, int64_t n);      // acc += a * b
template <typename F>
void scale_inplace(F* x, F s, int64_t n);
// x = cap * tanh(x / cap) in place (Gemma-2's final logit soft cap on full logits), computed in compute_t<S>.
template <typename S>
void tanh_softcap(S* x, double cap, int64_t n);
// Sum of squares accumulated in double, in a fixed order for a fixed thread count.
template <typename F>
double sum_squares(const F* x, int64_t n);

}  // namespace tandem
