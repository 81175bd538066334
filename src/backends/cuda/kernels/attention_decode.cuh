// Attention of new query rows over a KV cache on the GPU (the CPU kernel's contract,
// src/backends/cpu/kernels/attention_decode.h): q [n, H, D] at positions start..start+n-1, k/v caches
// [>= start + n, G, D]; the window on absolute positions.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

struct DecodeProblem {
  In q, k_cache, v_cache;
  int64_t start = 0, n = 0, heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 1, cap = 0;  // cap 0: no soft cap
  int64_t window = 0;        // 0: no sliding window
};

void attention_decode(const DecodeProblem& p, Out out, cudaStream_t stream);

}  // namespace tandem::cuda
