#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/activation.cuh"
#include "backends/cuda/kernels/activation_math.h"
#include "backends/cuda/kernels/grid_stride.cuh"

namespace tandem::cuda {

namespace {

constexpr int kThreads = 256;

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
