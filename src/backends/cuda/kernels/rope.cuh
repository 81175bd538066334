// Rotary position embedding in place (the CPU backend's kernels/rope.cpp, Hugging Face Llama convention): each
// head's first 2 * half dims rotate as (x1 cos - x2 sin, x2 cos + x1 sin), the rest pass through (partial rotary).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

// x [batch, seq, heads, head_dim]; cos/sin [table_positions, half]; the position of row (b, t) is
// positions[b * seq + t] (null: t). inverse rotates back (the backward pass). A position outside
// [0, table_positions) leaves its row unrotated rather than read outside the table (the CPU kernel does not check).
void rope(Out x, In cos, In sin, int64_t table_positions, int64_t half, int64_t batch, int64_t seq, int64_t heads,
          int64_t head_dim, const int32_t* positions, bool inverse, cudaStream_t stream);

}  // namespace tandem::cuda
