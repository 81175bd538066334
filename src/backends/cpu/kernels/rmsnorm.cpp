#include "backends/cpu/kernels/rmsnorm.h"

#include <cmath>

#include "backends/cpu/kernels/parallel.h"

namespace tandem {

template <typename F>
void rmsnorm_forward(F* out, F* rstd, const F* x, const F* weight, int64_t rows, int64_t dim, double eps) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const F* xr = x + r * dim;
    F* yr = out + r * dim;
    F sum_sq = 0;
    for (int64_t i = 0; i < dim; ++i) sum_sq += xr[i] * xr[i];
    const F s = F(1) / std::sqrt(sum_sq / F(dim) + F(eps));
    rstd[r] = s;
    for (int64_t i = 0; i < dim; ++i) yr[i] = weight[i] * (xr[i] * s);
  }
}

template <typename F>
void rmsnorm_backward(F* dx, std::type_identity_t<F*> dweight, const F* dout, const F* x, const F* weight,
                      const F* rstd, int64_t rows, int64_t dim) {
  // With n = x * s (s = rstd): dL/dn = dout * w, and dL/dx = s * (dn - n * mean(dn * n)).
  auto row = [&](int64_t r, F* dw) {
    const F* xr = x + r * dim;
    const F* gr = dout + r * dim;
    F* dxr = dx + r * dim;
    const F s = rstd[r];
    F dot = 0;
    for (int64_t i = 0; i < dim; ++i) dot += gr[i] * weight[i] * (xr[i] * s);
    if (dw)
      for (int64_t i = 0; i < dim; ++i) dw[i] += gr[i] * (xr[i] * s);
    const F mean_dot = dot / F(dim);
    for (int64_t i = 0; i < dim; ++i) dxr[i] += s * (gr[i] * weight[i] - xr[i] * s * mean_dot);
  };
  if (dweight) {
    parallel_rows_reduce(rows, dim, dweight, row);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) row(r, nullptr);  // frozen weight (LoRA): no weight gradient at all
}

template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int64_t, int64_t, double);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int64_t, int64_t, double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*, const float*, int64_t,
                                      int64_t);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*, const double*, const double*,
                                       int64_t, int64_t);

}  // namespace tandem
