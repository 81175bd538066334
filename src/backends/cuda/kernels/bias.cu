#include <algorithm>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/bias.cuh"

namespace tandem::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxChunks = 512;     // rows are split into at most this many chunks...
constexpr int64_t kMinChunkRows = 32;   // ...of at least this many rows (fewer for fewer rows)

int64_t chunk_count(int64_t rows) {
  return std::clamp<int64_t>((rows + kMinChunkRows - 1) / kMinChunkRows, 1, kMaxChunks);
}

__global__ void add_bias_rows_kernel(Out y, In acc, In bias, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y.set(i, bias ? acc[i] + bias[i % cols] : acc[i]);
}

// Block (x, chunk): each thread one column, its chunk's rows summed in order into partials[chunk, column].
__global__ void column_partials_kernel(float* partials, In dy, int64_t rows, int64_t cols, int64_t chunk_rows) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const int64_t chunk = blockIdx.y, begin = chunk * chunk_rows;
  const int64_t end = begin + chunk_rows < rows ? begin + chunk_rows : rows;  // the last chunks may be short or empty
  float s = 0;
  for (int64_t r = begin; r < end; ++r) s += dy[r * cols + c];
  partials[chunk * cols + c] = s;
}

__global__ void column_totals_kernel(Out dsum, const float* partials, int64_t chunks, int64_t cols) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float s = 0;
  for (int64_t k = 0; k < chunks; ++k) s += partials[k * cols + c];
  dsum.add(c, s);
}

}  // namespace

void add_bias_rows(Out y, In acc, In bias, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  add_bias_rows_kernel<<<blocks_for(rows * cols), kThreads, 0, stream>>>(y, acc, bias, rows, cols);
  TANDEM_CUDA_LAUNCHED("add_bias_rows");
}

int64_t column_sums_partials(int64_t rows, int64_t cols) { return chunk_count(rows) * std::max<int64_t>(cols, 0); }

void column_sums_add(Out dsum, In dy, int64_t rows, int64_t cols, float* partials, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t chunks = chunk_count(rows), chunk_rows = (rows + chunks - 1) / chunks;
  const unsigned col_blocks = unsigned((cols + kThreads - 1) / kThreads);
  column_partials_kernel<<<dim3(col_blocks, unsigned(chunks)), kThreads, 0, stream>>>(partials, dy, rows, cols,
                                                                                       chunk_rows);
  TANDEM_CUDA_LAUNCHED("column_partials");
  column_totals_kernel<<<col_blocks, kThreads, 0, stream>>>(dsum, partials, chunks, cols);
  TANDEM_CUDA_LAUNCHED("column_totals");
}

}  // namespace tandem::cuda
