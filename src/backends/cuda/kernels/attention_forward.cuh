// Flash-style attention forward on the GPU: out [B, T, H, D] and lse [B, H, T] (the CPU kernel's contract,
// src/backends/cpu/kernels/attention.h): padding rows (at or past lengths[b]) get zero output and zero lse.
#pragma once
#include <cuda_runtime.h>

#include "backends/cuda/kernels/attention_tiles.cuh"

namespace tandem::cuda {

void attention_forward(const AttentionProblem& p, Out out, Out lse, cudaStream_t stream);

}  // namespace tandem::cuda
