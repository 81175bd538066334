// The bias of a linear layer: added to the GEMM's f32 result before the output's single rounding, and its
// gradient, the column sums of dy, reduced in a fixed order (no float atomics: the same bits on every run).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

// y[r, c] = acc[r, c] + bias[c] over [rows, cols] (contiguous). acc may be y itself.
void add_bias_rows(Out y, In acc, In bias, int64_t rows, int64_t cols, cudaStream_t stream);

// The f32 partial sums column_sums needs: one per column and row chunk.
int64_t column_sums_partials(int64_t rows, int64_t cols);

// dsum[c] += sum over r of dy[r, c] (dy [rows, cols] contiguous), through `partials` (column_sums_partials floats):
// each row chunk sums its rows in order, then each column sums its chunks in order.
void column_sums_add(Out dsum, In dy, int64_t rows, int64_t cols, float* partials, cudaStream_t stream);

}  // namespace tandem::cuda
