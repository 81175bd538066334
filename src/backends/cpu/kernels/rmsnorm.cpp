#include "backends/cpu/kernels/rmsnorm.h"

#include <cmath>

#include "backends/cpu/kernels/parallel.h"

namespace tandem {

template <typename X, typename W>
void rmsnorm_forward(W* out, compute_t<W>* rstd, const X* x, const W* weight, int64_t rows, int64_t dim, double eps,
                     double weight_offset) {
  using F = compute_t<W>;
  const F offset = F(weight_offset);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const X* xr = x + r * dim;
    W* yr = out + r * dim;
    F sum_sq = 0;
    for (int64_t i = 0; i < dim; ++i) sum_sq += F(load(xr[i])) * F(load(xr[i]));
    const F s = F(1) / std::sqrt(sum_sq / F(dim) + F(eps));
    rstd[r] = s;
    for (int64_t i = 0; i < dim; ++i) yr[i] = store<W>((load(weight[i]) + offset) * (F(load(xr[i])) * s));
  }
}

template <typename X, typename W>
void rmsnorm_backward(compute_t<W>* dx, compute_t<W>* dweight, const compute_t<W>* dout, const X* x, const W* weight,
                      const compute_t<W>* rstd, int64_t rows, int64_t dim, double weight_offset) {
  using F = compute_t<W>;
  const F offset = F(weight_offset);
  // With n = x * s (s = rstd) and y = n * (w + offset): dL/dn = dout * (w + offset), dL/dw = dout * n, and
  // dL/dx = s * (dn - n * mean(dn * n)).
  auto row = [&](int64_t r, F* dw) {
    const X* xr = x + r * dim;
    const F* gr = dout + r * dim;
    F* dxr = dx + r * dim;
    const F s = rstd[r];
    F dot = 0;
    for (int64_t i = 0; i < dim; ++i) dot += gr[i] * (load(weight[i]) + offset) * (F(load(xr[i])) * s);
    if (dw)
      for (int64_t i = 0; i < dim; ++i) dw[i] += gr[i] * (F(load(xr[i])) * s);
    const F mean_dot = dot / F(dim);
    for (int64_t i = 0; i < dim; ++i)
      dxr[i] += s * (gr[i] * (load(weight[i]) + offset) - F(load(xr[i])) * s * mean_dot);
  };
  if (dweight) {
    parallel_rows_reduce(rows, dim, dweight, row);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) row(r, nullptr);  // frozen weight (LoRA): no weight gradient at all
}

// (input, weight): every storage alone, and bf16 weights over the f32 residual stream.
#define TANDEM_INSTANTIATE(X, W)                                                                                  \
  template void rmsnorm_forward<X, W>(W*, compute_t<W>*, const X*, const W*, int64_t, int64_t, double, double);   \
  template void rmsnorm_backward<X, W>(compute_t<W>*, compute_t<W>*, const compute_t<W>*, const X*, const W*,     \
                                       const compute_t<W>*, int64_t, int64_t, double);
TANDEM_INSTANTIATE(float, float)
TANDEM_INSTANTIATE(double, double)
TANDEM_INSTANTIATE(bf16, bf16)
TANDEM_INSTANTIATE(float, bf16)
#undef TANDEM_INSTANTIATE

}  // namespace tandem
