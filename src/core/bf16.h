// bf16 storage type: the upper 16 bits of an IEEE fp32 (8-bit exponent, 7 explicit mantissa bits). Only a storage
// format: arithmetic happens in fp32 (to_float, compute, to_bf16). to_bf16 rounds to nearest, ties to even; a NaN
// stays a NaN (quiet, same sign) and finite values beyond the bf16 range round to +-Inf, as fp32 -> bf16 casts do
// in PyTorch and oneDNN.
#pragma once
#include <bit>
#include <cstdint>
#include <type_traits>

namespace tandem {

struct bf16 {
  uint16_t bits;
};

inline float to_float(bf16 x) { return std::bit_cast<float>(uint32_t(x.bits) << 16); }
inline float to_float(float x) { return x; }  // lets code templated on the storage type read either

inline bf16 to_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  // Rounding a NaN whose payload sits in the low 16 bits would give Inf (or carry into the sign): keep it a NaN.
  if ((u & 0x7fffffffu) > 0x7f800000u) return {uint16_t((u >> 16) | 0x0040u)};
  // Round to nearest even: add just under half an ulp, plus one when the kept part is odd (a tie goes up to even).
  return {uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

// Kernels templated on a storage type S (f32, bf16 or f64) compute in compute_t<S>: f32 for bf16, otherwise S.
// load reads a stored value in its compute type; store<S> writes a computed value back (bf16 rounds as to_bf16).
template <typename S>
using compute_t = std::conditional_t<std::is_same_v<S, bf16>, float, S>;

template <typename S>
compute_t<S> load(S v) {
  if constexpr (std::is_same_v<S, bf16>) return to_float(v);
  else return v;
}
template <typename S>
S store(compute_t<S> v) {
  if constexpr (std::is_same_v<S, bf16>) return to_bf16(v);
  else return v;
}

}  // namespace tandem
