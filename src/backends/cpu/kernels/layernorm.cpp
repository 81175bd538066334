#include "backends/cpu/kernels/layernorm.h"

#include <cmath>
#include <vector>

#include "backends/cpu/kernels/parallel.h"

namespace tandem {

template <typename X, typename W>
void layernorm_forward(W* out, compute_t<W>* mean, compute_t<W>* rstd, const X* x, const W* weight, const W* bias,
                       int64_t rows, int64_t dim, double eps) {
  using F = compute_t<W>;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const X* xr = x + r * dim;
    W* yr = out + r * dim;
    F sum = 0;
    for (int64_t i = 0; i < dim; ++i) sum += F(load(xr[i]));
    const F mu = sum / F(dim);
    F sum_sq = 0;  // two passes: no cancellation when |mean| >> std
    for (int64_t i = 0; i < dim; ++i) {
      const F c = F(load(xr[i])) - mu;
      sum_sq += c * c;
    }
    const F s = F(1) / std::sqrt(sum_sq / F(dim) + F(eps));
    mean[r] = mu, rstd[r] = s;
    for (int64_t i = 0; i < dim; ++i) {
      const F y = (F(load(xr[i])) - mu) * s * load(weight[i]);
      yr[i] = store<W>(bias ? y + F(load(bias[i])) : y);
    }
  }
}

template <typename X, typename W>
void layernorm_backward(compute_t<W>* dx, compute_t<W>* dweight, compute_t<W>* dbias, const compute_t<W>* dout,
                        const X* x, const W* weight, const compute_t<W>* mean, const compute_t<W>* rstd, int64_t rows,
                        int64_t dim) {
  using F = compute_t<W>;
  // With n = (x - mean) * s and dn = dout * w: dL/dx = s * (dn - mean(dn) - n * mean(dn * n)) (the mean and the
  // variance both depend on every x of the row); dL/dw = dout * n, dL/dbias = dout.
  // sums: [dweight | dbias] partials of one thread, or null when neither is wanted.
  auto row = [&](int64_t r, F* sums) {
    const X* xr = x + r * dim;
    const F* gr = dout + r * dim;
    F* dxr = dx + r * dim;
    const F mu = mean[r], s = rstd[r];
    F sum_dn = 0, dot = 0;
    for (int64_t i = 0; i < dim; ++i) {
      const F dn = gr[i] * load(weight[i]);
      sum_dn += dn;
      dot += dn * ((F(load(xr[i])) - mu) * s);
    }
    if (sums)
      for (int64_t i = 0; i < dim; ++i) {
        sums[i] += gr[i] * ((F(load(xr[i])) - mu) * s);
        sums[dim + i] += gr[i];
      }
    const F mean_dn = sum_dn / F(dim), mean_dot = dot / F(dim);
    for (int64_t i = 0; i < dim; ++i)
      dxr[i] += s * (gr[i] * load(weight[i]) - mean_dn - (F(load(xr[i])) - mu) * s * mean_dot);
  };
  if (!dweight && !dbias) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) row(r, nullptr);
    return;
  }
  std::vector<F> sums(size_t(2 * dim), F(0));
  parallel_rows_reduce(rows, 2 * dim, sums.data(), row);
  for (int64_t i = 0; i < dim; ++i) {
    if (dweight) dweight[i] += sums[size_t(i)];
    if (dbias) dbias[i] += sums[size_t(dim + i)];
  }
}

// (input, weight): every storage alone, and bf16 weights over the f32 residual stream.
#define TANDEM_INSTANTIATE(X, W)                                                                                  \
  template void layernorm_forward<X, W>(W*, compute_t<W>*, compute_t<W>*, const X*, const W*, const W*, int64_t,  \
                                        int64_t, double);                                                         \
  template void layernorm_backward<X, W>(compute_t<W>*, compute_t<W>*, compute_t<W>*, const compute_t<W>*,        \
                                         const X*, const W*, const compute_t<W>*, const compute_t<W>*, int64_t,   \
                                         int64_t);
TANDEM_INSTANTIATE(float, float)
TANDEM_INSTANTIATE(double, double)
TANDEM_INSTANTIATE(bf16, bf16)
TANDEM_INSTANTIATE(float, bf16)
#undef TANDEM_INSTANTIATE

}  // namespace tandem
