#include "backends/cpu/kernels/elementwise.h"

#include <cmath>

namespace tandem {

template <typename O, typename A, typename B>
void add_forward(O* out, const A* a, const B* b, int64_t n) {
  using F = compute_t<O>;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = store<O>(F(load(a[i])) + F(load(b[i])));
}

template <typename F>
void mul_forward(F* out, const F* a, const F* b, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

template <typename F>
void add_mul(F* acc, const F* a, const F* b, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) acc[i] += a[i] * b[i];
}

template <typename F>
void scale_inplace(F* x, F s, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

template <typename S>
void tanh_softcap(S* x, double cap, int64_t n) {
  using F = compute_t<S>;
  const F c = F(cap), inv = F(1 / cap);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] = store<S>(c * std::tanh(F(load(x[i])) * inv));
}

template <typename F>
double sum_squares(const F* x, int64_t n) {
  double s = 0;  // simd: the f64 sum runs in vector lanes (reassociated, so the order is fixed per thread count)
#pragma omp parallel for simd reduction(+ : s) schedule(static)
  for (int64_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
  return s;
}

#define TANDEM_INSTANTIATE(F)                                  \
  template void add_forward<F, F, F>(F*, const F*, const F*, int64_t); \
  template void mul_forward<F>(F*, const F*, const F*, int64_t); \
  template void add_mul<F>(F*, const F*, const F*, int64_t);     \
  template void scale_inplace<F>(F*, F, int64_t);                \
  template double sum_squares<F>(const F*, int64_t);
TANDEM_INSTANTIATE(float)
TANDEM_INSTANTIATE(double)
#undef TANDEM_INSTANTIATE
template void add_forward<float, bf16, float>(float*, const bf16*, const float*, int64_t);
template void tanh_softcap<float>(float*, double, int64_t);
template void tanh_softcap<double>(double*, double, int64_t);
template void tanh_softcap<bf16>(bf16*, double, int64_t);

}  // namespace tandem
