#include "backends/cpu/kernels/adamw.h"

#include <cmath>

namespace tandem {

template <typename F>
void adamw_update(F* p, const F* grad, F* m, F* v, int64_t n, float step_size, float b1, float b2, float eps,
                  float decay, float bc2_sqrt, float grad_scale, bf16* rounded) {
  auto update = [&](int64_t j) {
    const F g = grad[j] * F(grad_scale);
    p[j] *= F(decay);
    m[j] = F(b1) * m[j] + (F(1) - F(b1)) * g;
    v[j] = F(b2) * v[j] + (F(1) - F(b2)) * g * g;
    const F denom = std::sqrt(v[j]) / F(bc2_sqrt) + F(eps);
    p[j] -= F(step_size) * m[j] / denom;
  };
  if (!rounded) {
#pragma omp parallel for simd schedule(static)
    for (int64_t j = 0; j < n; ++j) update(j);
    return;
  }
#pragma omp parallel for simd schedule(static)
  for (int64_t j = 0; j < n; ++j) {
    update(j);
    rounded[j] = to_bf16(float(p[j]));
  }
}

template void adamw_update<float>(float*, const float*, float*, float*, int64_t, float, float, float, float, float,
                                  float, float, bf16*);
template void adamw_update<double>(double*, const double*, double*, double*, int64_t, float, float, float, float,
                                   float, float, float, bf16*);

}  // namespace tandem
