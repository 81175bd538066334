// Attention backward on the GPU (FA2 style, deterministic): dq, dk and dv += the gradients of the forward
// (attention_forward.cuh) given dout and the saved out and lse, as the CPU kernel's attention_backward. delta is
// device scratch of B * H * T floats.
#pragma once
#include <cuda_runtime.h>

#include "backends/cuda/kernels/attention_tiles.cuh"

namespace tandem::cuda {

void attention_backward(const AttentionProblem& p, Out dq, Out dk, Out dv, In dout, In out, In lse, float* delta,
                        cudaStream_t stream);

}  // namespace tandem::cuda
