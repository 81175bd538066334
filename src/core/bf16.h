// bfloat16 storage: the top 16 bits of an IEEE float. Values are converted to f32 for all arithmetic.
#pragma once
#include <bit>
#include <cstdint>

namespace tandem {

struct bf16 {
  uint16_t bits = 0;
};

inline float to_float(bf16 v) { return std::bit_cast<float>(uint32_t(v.bits) << 16); }

// Round to nearest even; NaN stays NaN (a quiet NaN, whatever its payload).
inline bf16 to_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{uint16_t((u >> 16) | 0x40)};
  return bf16{uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

}  // namespace tandem
