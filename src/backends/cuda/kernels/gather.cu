#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/gather.cuh"

namespace tandem::cuda {

namespace {

__global__ void gather_rows_kernel(Out dst, In x, const int32_t* row_index, int64_t count, int64_t dim) {
  const int64_t n = count * dim, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t row = i / dim, d = i % dim;
    dst.set(i, x[int64_t(row_index[row]) * dim + d]);
  }
}

__global__ void scatter_add_rows_kernel(Out dx, In src, const int32_t* row_index, int64_t count, int64_t dim) {
  const int64_t d = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (d >= dim) return;
  for (int64_t i = 0; i < count; ++i) dx.add(int64_t(row_index[i]) * dim + d, src[i * dim + d]);
}

}  // namespace

void gather_rows(Out dst, In x, const int32_t* row_index, int64_t count, int64_t dim, cudaStream_t stream) {
  if (count <= 0 || dim <= 0) return;
  gather_rows_kernel<<<blocks_for(count * dim), 256, 0, stream>>>(dst, x, row_index, count, dim);
  TANDEM_CUDA_LAUNCHED("gather_rows");
}

void scatter_add_rows(Out dx, In src, const int32_t* row_index, int64_t count, int64_t dim, cudaStream_t stream) {
  if (count <= 0 || dim <= 0) return;
  constexpr int kThreads = 128;
  scatter_add_rows_kernel<<<unsigned((dim + kThreads - 1) / kThreads), kThreads, 0, stream>>>(dx, src, row_index,
                                                                                             count, dim);
  TANDEM_CUDA_LAUNCHED("scatter_add_rows");
}

}  // namespace tandem::cuda
