#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/convert.cuh"

namespace tandem::cuda {

namespace {

__global__ void convert_matrix_kernel(Out dst, In src, int64_t rows, int64_t cols, int64_t ld_src,
                                      int64_t ld_dst) {
  const int64_t n = rows * cols, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t r = i / cols, c = i % cols;
    dst.set(r * ld_dst + c, src[r * ld_src + c]);
  }
}

}  // namespace

void convert_matrix(Out dst, In src, int64_t rows, int64_t cols, int64_t ld_src, int64_t ld_dst,
                    cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  convert_matrix_kernel<<<blocks_for(rows * cols), 256, 0, stream>>>(dst, src, rows, cols, ld_src, ld_dst);
  TANDEM_CUDA_LAUNCHED("convert_matrix");
}

}  // namespace tandem::cuda
