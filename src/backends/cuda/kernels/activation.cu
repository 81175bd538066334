#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/activation.cuh"
#include "backends/cuda/kernels/block_sum.cuh"

namespace tandem::cuda {

namespace {

constexpr int kThreads = 256;

// core/fastmath.h's exp_fast, operation for operation (explicit fmas, round-to-nearest-even n), so that the CPU and
// the GPU activations agree closely; returns 0 below -87.
__device__ __forceinline__ float exp_fast(float x) {
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
  return p * __int_as_float((int(n) + 127) << 23);
}

// Each activation's value and derivative at x (derivative also returns the value), as the CPU kernel's functors.
struct Silu {
  __device__ static float value(float x) { return x * (1.0f / (1.0f + exp_fast(-x))); }
  __device__ static float derivative(float x, float& value) {
    const float sig = 1.0f / (1.0f + exp_fast(-x));
    value = x * sig;
    return sig * (1.0f + x * (1.0f - sig));  // d(x sig) = sig + x sig (1 - sig)
  }
};

// Exact GELU: x Phi(x); derivative Phi(x) + x phi(x).
struct Gelu {
  static constexpr float kInvSqrt2 = float(0.70710678118654752440);
  static constexpr float kInvSqrt2Pi = float(0.39894228040143267794);  // 1 / sqrt(2 pi)
  __device__ static float value(float x) { return 0.5f * x * (1.0f + erff(x * kInvSqrt2)); }
  __device__ static float derivative(float x, float& value) {
    const float cdf = 0.5f * (1.0f + erff(x * kInvSqrt2));
    value = x * cdf;
    const float pdf = kInvSqrt2Pi * exp_fast(-0.5f * x * x);
    return cdf + x * pdf;
  }
};

// Tanh GELU: 0.5 x (1 + t), t = tanh(k (x + c x^3)).
struct GeluTanh {
  static constexpr float kK = float(0.79788456080286535588);  // sqrt(2 / pi)
  static constexpr float kC = float(0.044715);
  static constexpr float k3C = float(3 * 0.044715);
  __device__ static float value(float x) { return 0.5f * x * (1.0f + tanhf(kK * (x + kC * x * x * x))); }
  __device__ static float derivative(float x, float& value) {
    const float t = tanhf(kK * (x + kC * x * x * x));
    value = 0.5f * x * (1.0f + t);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kK * (1.0f + k3C * x * x);
  }
};

template <typename A>
__global__ void glu_forward_kernel(Out out, In gate, In up, int64_t n) {
  TANDEM_GRID_STRIDE(i, n) out.set(i, A::value(gate[i]) * up[i]);
}

template <typename A>
__global__ void glu_backward_kernel(Out dgate, Out dup, In dout, In gate, In up, int64_t n) {
  TANDEM_GRID_STRIDE(i, n) {
    float value;
    const float slope = A::derivative(gate[i], value);
    const float g = dout[i];
    dgate.add(i, g * up[i] * slope);
    dup.add(i, g * value);
  }
}

template <typename A>
__global__ void activation_forward_kernel(Out out, In x, int64_t n) {
  TANDEM_GRID_STRIDE(i, n) out.set(i, A::value(x[i]));
}

template <typename A>
__global__ void activation_backward_kernel(Out dx, In dout, In x, int64_t n) {
  TANDEM_GRID_STRIDE(i, n) {
    float value;
    dx.add(i, dout[i] * A::derivative(x[i], value));
  }
}

// launch(A{}) with A the functor of `act`.
template <typename Launch>
void with_activation(Activation act, const char* op, Launch&& launch) {
  switch (act) {
    case Activation::kSilu: return launch(Silu{});
    case Activation::kGelu: return launch(Gelu{});
    case Activation::kGeluTanh: return launch(GeluTanh{});
  }
  fail("cuda backend: op ", op, ": unknown activation ", int(act));
}

}  // namespace

void glu_forward(Out out, In gate, In up, int64_t n, Activation act, cudaStream_t stream) {
  if (n <= 0) return;
  with_activation(act, "glu", [&](auto a) {
    glu_forward_kernel<decltype(a)><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(out, gate, up, n);
  });
  TANDEM_CUDA_LAUNCHED("glu_forward");
}

void glu_backward(Out dgate, Out dup, In dout, In gate, In up, int64_t n, Activation act, cudaStream_t stream) {
  if (n <= 0) return;
  with_activation(act, "glu_backward", [&](auto a) {
    glu_backward_kernel<decltype(a)><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(dgate, dup, dout, gate, up, n);
  });
  TANDEM_CUDA_LAUNCHED("glu_backward");
}

void activation_forward(Out out, In x, int64_t n, Activation act, cudaStream_t stream) {
  if (n <= 0) return;
  with_activation(act, "activation", [&](auto a) {
    activation_forward_kernel<decltype(a)><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(out, x, n);
  });
  TANDEM_CUDA_LAUNCHED("activation_forward");
}

void activation_backward(Out dx, In dout, In x, int64_t n, Activation act, cudaStream_t stream) {
  if (n <= 0) return;
  with_activation(act, "activation_backward", [&](auto a) {
    activation_backward_kernel<decltype(a)><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(dx, dout, x, n);
  });
  TANDEM_CUDA_LAUNCHED("activation_backward");
}

}  // namespace tandem::cuda
