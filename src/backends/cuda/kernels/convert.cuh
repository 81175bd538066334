// Matrix copies between storage types: GEMM operands rounded to bf16 (or widened to f32) before cuBLASLt, and f32
// GEMM results rounded into bf16 outputs.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

// dst[r * ld_dst + c] = src[r * ld_src + c] for r < rows, c < cols, rounded to nearest even when dst is bf16.
void convert_matrix(Out dst, In src, int64_t rows, int64_t cols, int64_t ld_src, int64_t ld_dst,
                    cudaStream_t stream);

}  // namespace tandem::cuda
