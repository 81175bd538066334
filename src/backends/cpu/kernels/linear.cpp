#include "backends/cpu/kernels/linear.h"

#include <vector>

#include "backends/cpu/kernels/convert.h"
#include "backends/cpu/kernels/parallel.h"
#include "core/blas.h"

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

namespace {
// A buffer kept by the calling thread between calls (grown, never zeroed): these kernels run once per projection per
// step, and a fresh multi-MB vector would be zeroed and page-faulted each time.
template <typename T>
T* reusable(size_t n) {
  static thread_local std::vector<T> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}
}  // namespace

template <typename Y>
void linear_forward_bf16(Y* y, const bf16* x, const bf16* w, const float* bias, int64_t n, int64_t in, int64_t out) {
  if (!bias) {
    gemm_bf16(false, true, int(n), int(out), int(in), 1.0f, x, int(in), w, int(in), 0.0f, y, int(out));
    return;
  }
  // The bias joins before the single rounding to bf16: compute in f32, then store.
  float* acc = reusable<float>(size_t(n * out));
  gemm_bf16(false, true, int(n), int(out), int(in), 1.0f, x, int(in), w, int(in), 0.0f, acc, int(out));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < out; ++j) y[r * out + j] = store<Y>(acc[r * out + j] + bias[j]);
}

void linear_backward_bf16(float* dx, float* dw, float* dbias, const float* dy, const bf16* x, const bf16* w,
                          int64_t n, int64_t in, int64_t out) {
  bf16* dy16 = reusable<bf16>(size_t(n * out));
  f32_to_bf16(dy16, dy, n * out);
  if (dx) gemm_bf16(false, false, int(n), int(in), int(out), 1.0f, dy16, int(out), w, int(in), 1.0f, dx, int(in));
  if (dw) gemm_bf16(true, false, int(out), int(in), int(n), 1.0f, dy16, int(out), x, int(in), 1.0f, dw, int(in));
  if (dbias)  // from the f32 gradient, as the bias is not a GEMM
    parallel_rows_reduce(n, out, dbias, [&](int64_t r, float* db) {
      for (int64_t j = 0; j < out; ++j) db[j] += dy[r * out + j];
    });
}

template void linear_forward_bf16<float>(float*, const bf16*, const bf16*, const float*, int64_t, int64_t, int64_t);
template void linear_forward_bf16<bf16>(bf16*, const bf16*, const bf16*, const float*, int64_t, int64_t, int64_t);
template void linear_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t);
template void linear_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t, int64_t);
template void linear_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     int64_t, int64_t);
template void linear_backward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t,
                                      int64_t, int64_t);

}  // namespace tandem
