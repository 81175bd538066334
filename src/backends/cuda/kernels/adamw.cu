#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/adamw.cuh"
#include "backends/cuda/kernels/grid_stride.cuh"

namespace tandem::cuda {

namespace {

constexpr int kThreads = 256;

// The CPU kernel's update, term for term: the moments and the parameter stay in registers between their steps (the
// CPU kernel keeps them in f32 too), and each is stored once.
__global__ void adamw_kernel(Out p, In grad, Out m, Out v, Out rounded, int64_t n, AdamWArgs a) {
  TANDEM_GRID_STRIDE(j, n) {
    const float g = grad[j] * a.grad_scale;
    float pj = p.get(j) * a.decay;
    const float mj = a.beta1 * m.get(j) + (1.0f - a.beta1) * g;
    const float vj = a.beta2 * v.get(j) + (1.0f - a.beta2) * g * g;
    const float denom = sqrtf(vj) / a.bc2_sqrt + a.eps;
    pj -= a.step_size * mj / denom;
    m.set(j, mj);
    v.set(j, vj);
    p.set(j, pj);
    if (rounded) rounded.set(j, pj);
  }
}

}  // namespace

void adamw_update(Out p, In grad, Out m, Out v, Out rounded, int64_t n, const AdamWArgs& args, cudaStream_t stream) {
  if (n <= 0) return;
  adamw_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(p, grad, m, v, rounded, n, args);
  TANDEM_CUDA_LAUNCHED("adamw");
}

}  // namespace tandem::cuda
