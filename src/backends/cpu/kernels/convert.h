// Storage conversions between bf16 and f32 (round to nearest even), over n values in parallel.
#pragma once
#include <cstdint>

#include "core/bf16.h"

namespace tandem {

void bf16_to_f32(float* dst, const bf16* src, int64_t n);
void f32_to_bf16(bf16* dst, const float* src, int64_t n);

}  // namespace tandem
