// Elementwise kernels over n values: residual adds, dropout masks, gradient scaling and norms.
#pragma once
#include <cstdint>

namespace tandem {

template <typename F>
void add_forward(F* out, const F* a, const F* b, int64_t n);  // out = a + b (out may alias a or b)
template <typename F>
void mul_forward(F* out, const F* a, const F* b, int64_t n);  // out = a * b
template <typename F>
void add_mul(F* acc, const F* a, const F* b, int64_t n);      // acc += a * b
template <typename F>
void scale_inplace(F* x, F s, int64_t n);
// Sum of squares accumulated in double, in a fixed order for a fixed thread count.
template <typename F>
double sum_squares(const F* x, int64_t n);

}  // namespace tandem
