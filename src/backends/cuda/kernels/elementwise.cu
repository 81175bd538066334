#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/block_sum.cuh"
#include "backends/cuda/kernels/elementwise.cuh"
#include "backends/cuda/kernels/grid_stride.cuh"

namespace tandem::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void add_kernel(Out out, In a, In b, int64_t n) {
  TANDEM_GRID_STRIDE(i, n) out.set(i, a[i] + b[i]);
}

__global__ void mul_kernel(Out out, In a, In b, int64_t n) {
  TANDEM_GRID_STRIDE(i, n) out.set(i, a[i] * b[i]);
}

__global__ void add_mul_kernel(Out acc, In a, In b, int64_t n) {
  TANDEM_GRID_STRIDE(i, n) acc.set(i, acc.get(i) + a[i] * b[i]);
}

__global__ void scale_kernel(Out x, float s, int64_t n) {
  TANDEM_GRID_STRIDE(i, n) x.set(i, x.get(i) * s);
}

__global__ void tanh_softcap_kernel(Out x, float cap, float inv_cap, int64_t n) {
  TANDEM_GRID_STRIDE(i, n) x.set(i, cap * tanhf(x.get(i) * inv_cap));
}

// Each thread sums its grid-stride share in f64; each block writes the sum of its threads to partials[block].
__global__ void sum_squares_partials_kernel(double* partials, In x, int64_t n) {
  double s = 0;
  TANDEM_GRID_STRIDE(i, n) {
    const double v = double(x[i]);
    s += v * v;
  }
  s = block_sum(s);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// One block: thread t sums partials t, t + blockDim, ... in order, then the block sum.
__global__ void sum_partials_kernel(double* result, const double* partials, int count) {
  double s = 0;
  for (int i = int(threadIdx.x); i < count; i += int(blockDim.x)) s += partials[i];
  s = block_sum(s);
  if (threadIdx.x == 0) *result = s;
}

}  // namespace

void add(Out out, In a, In b, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  add_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(out, a, b, n);
  TANDEM_CUDA_LAUNCHED("add");
}

void mul(Out out, In a, In b, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  mul_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(out, a, b, n);
  TANDEM_CUDA_LAUNCHED("mul");
}

void add_mul(Out acc, In a, In b, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  add_mul_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(acc, a, b, n);
  TANDEM_CUDA_LAUNCHED("add_mul");
}

void scale(Out x, float s, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  scale_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(x, s, n);
  TANDEM_CUDA_LAUNCHED("scale");
}

void tanh_softcap(Out x, double cap, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  // As the CPU kernel: cap and 1 / cap (computed in f64) rounded to f32.
  tanh_softcap_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream>>>(x, float(cap), float(1 / cap), n);
  TANDEM_CUDA_LAUNCHED("tanh_softcap");
}

void sum_squares(double* result, double* partials, In x, int64_t n, cudaStream_t stream) {
  if (n <= 0) {
    TANDEM_CUDA_CHECK(cudaMemsetAsync(result, 0, sizeof(double), stream));
    return;
  }
  // The block count depends on n only, so the summation order (and the bits) is the same on every run.
  const unsigned blocks = blocks_for(n, kThreads) < unsigned(kSumSquaresMaxBlocks) ? blocks_for(n, kThreads)
                                                                                  : unsigned(kSumSquaresMaxBlocks);
  sum_squares_partials_kernel<<<blocks, kThreads, 0, stream>>>(partials, x, n);
  TANDEM_CUDA_LAUNCHED("sum_squares_partials");
  sum_partials_kernel<<<1, 1024, 0, stream>>>(result, partials, int(blocks));
  TANDEM_CUDA_LAUNCHED("sum_squares_total");
}

}  // namespace tandem::cuda
