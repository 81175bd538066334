// The activations' value and derivative in f32 for the CUDA kernels (kernels/activation.cu), the same formulas as
// the CPU backend's kernels/activation.cpp, compiled for host and device so that a host test can compare them.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "backends/cuda/kernels/host_device.h"

namespace tandem::cuda {

// core/fastmath.h's exp_fast, operation for operation (explicit fmas, n rounded to nearest even): ~2 ulp on
// [-87, 88], 0 below -87.
TANDEM_HOST_DEVICE float exp_fast(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = rintf(x * 1.44269504088896341f);
  const float r = fmaf(n, -0.693145751953125f, x);
  const float rr = fmaf(n, -1.428606765330187e-06f, r);
  float p = 1.9875691500e-4f;
  p = fmaf(p, rr, 1.3981999507e-3f);
  p = fmaf(p, rr, 8.3334519073e-3f);
  p = fmaf(p, rr, 4.1665795894e-2f);
  p = fmaf(p, rr, 1.6666665459e-1f);
  p = fmaf(p, rr, 5.0000001201e-1f);
  p = fmaf(p * rr, rr, rr) + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;
#ifdef __CUDA_ARCH__
  return p * __int_as_float(bits);
#else
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
#endif
}

// Each activation's value, and its derivative (which also returns the value).
struct Silu {
  static TANDEM_HOST_DEVICE float value(float x) { return x * (1.0f / (1.0f + exp_fast(-x))); }
  static TANDEM_HOST_DEVICE float derivative(float x, float& value) {
    const float sig = 1.0f / (1.0f + exp_fast(-x));
    value = x * sig;
    return sig * (1.0f + x * (1.0f - sig));  // d(x sig) = sig + x sig (1 - sig)
  }
};

// Exact GELU: x Phi(x); derivative Phi(x) + x phi(x).
struct Gelu {
  static constexpr float kInvSqrt2 = float(0.70710678118654752440);
  static constexpr float kInvSqrt2Pi = float(0.39894228040143267794);  // 1 / sqrt(2 pi)
  static TANDEM_HOST_DEVICE float value(float x) { return 0.5f * x * (1.0f + erff(x * kInvSqrt2)); }
  static TANDEM_HOST_DEVICE float derivative(float x, float& value) {
    const float cdf = 0.5f * (1.0f + erff(x * kInvSqrt2));
    value = x * cdf;
    const float pdf = kInvSqrt2Pi * exp_fast(-0.5f * x * x);
    return cdf + x * pdf;
  }
};

// Tanh GELU: 0.5 x (1 + t), t = tanh(k (x + c x^3)); derivative 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2).
struct GeluTanh {
  static constexpr float kK = float(0.79788456080286535588);  // sqrt(2 / pi)
  static constexpr float kC = float(0.044715);
  static constexpr float k3C = float(3 * 0.044715);
  static TANDEM_HOST_DEVICE float value(float x) { return 0.5f * x * (1.0f + tanhf(kK * (x + kC * x * x * x))); }
  static TANDEM_HOST_DEVICE float derivative(float x, float& value) {
    const float t = tanhf(kK * (x + kC * x * x * x));
    value = 0.5f * x * (1.0f + t);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kK * (1.0f + k3C * x * x);
  }
};

}  // namespace tandem::cuda
