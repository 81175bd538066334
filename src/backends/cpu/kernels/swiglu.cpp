#include "backends/cpu/kernels/swiglu.h"

#include "core/fastmath.h"

namespace tandem {

template <typename F>
void swiglu_forward(F* out, const F* gate, const F* up, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const F sig = F(1) / (F(1) + exp_fast(-gate[i]));
    out[i] = gate[i] * sig * up[i];
  }
}

template <typename F>
void swiglu_backward(F* dgate, F* dup, const F* dout, const F* gate, const F* up, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const F g = gate[i];
    const F sig = F(1) / (F(1) + exp_fast(-g));
    const F silu = g * sig;
    dgate[i] += dout[i] * up[i] * sig * (F(1) + g * (F(1) - sig));
    dup[i] += dout[i] * silu;
  }
}

template void swiglu_forward<float>(float*, const float*, const float*, int64_t);
template void swiglu_forward<double>(double*, const double*, const double*, int64_t);
template void swiglu_backward<float>(float*, float*, const float*, const float*, const float*, int64_t);
template void swiglu_backward<double>(double*, double*, const double*, const double*, const double*, int64_t);

}  // namespace tandem
