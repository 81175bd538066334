#include "kernels/linear.h"

#include "core/blas.h"
#include "kernels/parallel.h"

namespace tandem {

template <typename F>
void linear_forward(F* y, const F* x, const F* w, std::type_identity_t<const F*> bias, int64_t n, int64_t in, int64_t out) {
  gemm(false, true, int(n), int(out), int(in), F(1), x, int(in), w, int(in), F(0), y, int(out));
  if (!bias) return;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < out; ++j) y[r * out + j] += bias[j];
}

template <typename F>
void linear_backward(std::type_identity_t<F*> dx, std::type_identity_t<F*> dw, std::type_identity_t<F*> dbias, const F* dy, const F* x, const F* w, int64_t n, int64_t in,
                     int64_t out) {
  if (dx) gemm(false, false, int(n), int(in), int(out), F(1), dy, int(out), w, int(in), F(1), dx, int(in));
  if (dw) gemm(true, false, int(out), int(in), int(n), F(1), dy, int(out), x, int(in), F(1), dw, int(in));
  if (dbias)
    parallel_rows_reduce(n, out, dbias, [&](int64_t r, F* db) {
      for (int64_t j = 0; j < out; ++j) db[j] += dy[r * out + j];
    });
}

template void linear_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t);
template void linear_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t, int64_t);
template void linear_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     int64_t, int64_t);
template void linear_backward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t,
                                      int64_t, int64_t);

}  // namespace tandem
