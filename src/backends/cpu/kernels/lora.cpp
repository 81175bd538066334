#include "backends/cpu/kernels/lora.h"

#include <vector>

#include "core/blas.h"

namespace tandem {

template <typename F>
void lora_forward(F* y, F* h, const F* x_d, const F* a, const F* b, const LoraShape& s) {
  const int n = int(s.rows), in = int(s.in), out = int(s.out), r = int(s.rank);
  gemm(false, true, n, r, in, F(1), x_d, in, a, in, F(0), h, r);
  gemm(false, true, n, out, r, F(s.scale), h, r, b, r, F(1), y, out);
}

template <typename F>
void lora_backward(F* dx_d, F* da, F* db, const F* dy, const F* x_d, const F* h, const F* a, const F* b,
                   const LoraShape& s) {
  const int n = int(s.rows), in = int(s.in), out = int(s.out), r = int(s.rank);
  // dh = scale * dy B ; dB += scale * dy^T h ; dA += dh^T x_d ; dx_d += dh A.
  std::vector<F> dh(size_t(n) * size_t(r));
  gemm(false, false, n, r, out, F(s.scale), dy, out, b, r, F(0), dh.data(), r);
  gemm(true, false, out, r, n, F(s.scale), dy, out, h, r, F(1), db, r);
  gemm(true, false, r, in, n, F(1), dh.data(), r, x_d, in, F(1), da, in);
  if (dx_d) gemm(false, false, n, in, r, F(1), dh.data(), r, a, in, F(1), dx_d, in);
}

template void lora_forward<float>(float*, float*, const float*, const float*, const float*, const LoraShape&);
template void lora_forward<double>(double*, double*, const double*, const double*, const double*, const LoraShape&);
template void lora_backward<float>(float*, float*, float*, const float*, const float*, const float*, const float*,
                                   const float*, const LoraShape&);
template void lora_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                    const double*, const double*, const LoraShape&);

}  // namespace tandem
