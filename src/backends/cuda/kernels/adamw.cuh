// One AdamW update of one tensor (the CPU backend's kernels/adamw.cpp, torch.optim.AdamW semantics; the caller
// computes the bias corrections): p *= decay; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= step_size * m / (sqrt(v) / bc2_sqrt + eps), with g = grad * grad_scale, all in f32.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

struct AdamWArgs {
  float step_size, beta1, beta2, eps, decay, bc2_sqrt, grad_scale;
};

// p is the parameter, or its f32 master copy when `rounded` (the bf16 parameter) is non-null: rounded then
// receives the rounding of the updated master in the same pass. A bf16 p without a master is updated in f32 and
// rounded once.
void adamw_update(Out p, In grad, Out m, Out v, Out rounded, int64_t n, const AdamWArgs& args, cudaStream_t stream);

}  // namespace tandem::cuda
