#include "backends/cpu/kernels/convert.h"

namespace tandem {

void bf16_to_f32(float* dst, const bf16* src, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) dst[i] = to_float(src[i]);
}

void f32_to_bf16(bf16* dst, const float* src, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) dst[i] = to_bf16(src[i]);
}

}  // namespace tandem
