// Storage conversions between bf16 and f32 (round to nearest even), over n values in parallel.
#pragma once
#include <cstdint>

#include "core/bf16.h"

namespace tandem {

void bf16_to_f32(float* dst, const bf16* src, int64_t n);
void f32_to_bf16(bf16* dst, const float* src, int64_t n);

// A value of either storage type as f32, and back (the kernels' load/store for mixed storage).
inline float load_f32(float v) { return v; }
inline float load_f32(bf16 v) { return to_float(v); }
inline double load_f32(double v) { return v; }
template <typename T>
T store_as(float v);
template <>
inline float store_as<float>(float v) { return v; }
template <>
inline bf16 store_as<bf16>(float v) { return to_bf16(v); }

}  // namespace tandem
