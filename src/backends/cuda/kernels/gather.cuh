// Rows picked by index: the LM head's scored rows gathered into a dense chunk, and their gradients added back.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

// dst[i, :] = x[row_index[i], :] for i < count, rows of `dim` (rounded when dst is bf16).
void gather_rows(Out dst, In x, const int32_t* row_index, int64_t count, int64_t dim, cudaStream_t stream);

// dx[row_index[i], :] += src[i, :] for i = 0, 1, ... in order: a row listed twice receives both, the same way on
// every run (each thread owns one column and walks the list, so no two threads touch one element).
void scatter_add_rows(Out dx, In src, const int32_t* row_index, int64_t count, int64_t dim, cudaStream_t stream);

}  // namespace tandem::cuda
