// exp() that the compiler can vectorise. Softmax over a 32k-128k vocabulary is exp-bound; libm's expf
// does not vectorise without -ffast-math, which would also break NaN detection elsewhere.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace tandem {

// exp(x) for float with ~2 ulp relative error on [-87, 88]; returns 0 below -87 (softmax underflow).
inline float exp_fast(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // exp(x) = 2^n * exp(r), n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2].
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = std::fma(n, -0.693145751953125f, x);  // ln2 split in two for accuracy
  const float rr = std::fma(n, -1.428606765330187e-06f, r);
  // Minimax polynomial for exp on [-ln2/2, ln2/2] (Cephes expf coefficients).
  float p = 1.9875691500e-4f;
  p = std::fma(p, rr, 1.3981999507e-3f);
  p = std::fma(p, rr, 8.3334519073e-3f);
  p = std::fma(p, rr, 4.1665795894e-2f);
  p = std::fma(p, rr, 1.6666665459e-1f);
  p = std::fma(p, rr, 5.0000001201e-1f);
  p = std::fma(p * rr, rr, rr) + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

// The double path (used by gradient checks) keeps libm's exact exp.
inline double exp_fast(double x) { return std::exp(x); }

}  // namespace tandem
