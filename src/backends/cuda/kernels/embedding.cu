#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/embedding.cuh"
#include "backends/cuda/kernels/grid_stride.cuh"

namespace tandem::cuda {

namespace {

constexpr int kThreads = 256;
// Table rows are split among this many groups by id % kIdGroups, so that kIdGroups threads share one column's
// work while each table element still has one owner.
constexpr int kIdGroups = 32;

__global__ void embedding_forward_kernel(Out out, const int32_t* ids, In table, int64_t n, int64_t dim,
                                         int64_t vocab) {
  TANDEM_GRID_STRIDE(k, n * dim) {
    const int64_t i = k / dim, c = k % dim;
    const int64_t id = ids[i];
    out.set(k, id >= 0 && id < vocab ? table[id * dim + c] : 0.0f);
  }
}

// Thread (column c, group g) walks all tokens in order and adds the gradients of tokens whose id is in group g
// into column c: the same additions in the same order as the CPU kernel, whatever the launch shape.
__global__ void embedding_backward_kernel(Out dtable, const int32_t* ids, In dout, int64_t n, int64_t dim,
                                          int64_t vocab) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t group = blockIdx.y;
  if (c >= dim) return;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = ids[i];
    if (id < 0 || id >= vocab || id % kIdGroups != group) continue;
    dtable.add(id * dim + c, dout[i * dim + c]);
  }
}

}  // namespace

void embedding_forward(Out out, const int32_t* ids, In table, int64_t n, int64_t dim, int64_t vocab,
                       cudaStream_t stream) {
  if (n <= 0 || dim <= 0) return;
  embedding_forward_kernel<<<blocks_for(n * dim, kThreads), kThreads, 0, stream>>>(out, ids, table, n, dim, vocab);
  TANDEM_CUDA_LAUNCHED("embedding_forward");
}

void embedding_backward(Out dtable, const int32_t* ids, In dout, int64_t n, int64_t dim, int64_t vocab,
                        cudaStream_t stream) {
  if (n <= 0 || dim <= 0 || vocab <= 0) return;
  const int64_t column_blocks = (dim + kThreads - 1) / kThreads;
  TANDEM_CHECK(column_blocks <= 0x7fffffff, "embedding_backward: dim ", dim, " is too large");
  const dim3 grid{unsigned(column_blocks), unsigned(kIdGroups)};
  embedding_backward_kernel<<<grid, kThreads, 0, stream>>>(dtable, ids, dout, n, dim, vocab);
  TANDEM_CUDA_LAUNCHED("embedding_backward");
}

}  // namespace tandem::cuda
