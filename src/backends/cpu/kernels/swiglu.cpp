#include "backends/cpu/kernels/swiglu.h"

#include "core/fastmath.h"

namespace tandem {

template <typename S>
void swiglu_forward(S* out, const S* gate, const S* up, int64_t n) {
  using F = compute_t<S>;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const F g = load(gate[i]);
    const F sig = F(1) / (F(1) + exp_fast(-g));
    out[i] = store<S>(g * sig * load(up[i]));
  }
}

template <typename S>
void swiglu_backward(compute_t<S>* dgate, compute_t<S>* dup, const compute_t<S>* dout, const S* gate, const S* up,
                     int64_t n) {
  using F = compute_t<S>;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const F g = load(gate[i]), u = load(up[i]);
    const F sig = F(1) / (F(1) + exp_fast(-g));
    const F silu = g * sig;
    dgate[i] += dout[i] * u * sig * (F(1) + g * (F(1) - sig));
    dup[i] += dout[i] * silu;
  }
}

#define TANDEM_INSTANTIATE(S)                                      \
  template void swiglu_forward<S>(S*, const S*, const S*, int64_t); \
  template void swiglu_backward<S>(compute_t<S>*, compute_t<S>*, const compute_t<S>*, const S*, const S*, int64_t);
TANDEM_INSTANTIATE(float)
TANDEM_INSTANTIATE(double)
TANDEM_INSTANTIATE(bf16)
#undef TANDEM_INSTANTIATE

}  // namespace tandem
