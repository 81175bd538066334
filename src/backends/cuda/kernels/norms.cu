#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/block_sum.cuh"
#include "backends/cuda/kernels/norms.cuh"

namespace tandem::cuda {

namespace {

constexpr int kRowThreads = 256;      // one block per row
constexpr int kColumnThreads = 256;   // one thread per column in the gradient sums
constexpr int64_t kMaxRowBlocks = 1 << 20;

unsigned row_blocks(int64_t rows) { return unsigned(rows < kMaxRowBlocks ? rows : kMaxRowBlocks); }

__global__ void rmsnorm_forward_kernel(Out out, Out rstd, In x, In weight, int64_t rows, int64_t dim, float eps,
                                       float offset) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = r * dim;
    float sum_sq = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float v = x[base + i];
      sum_sq += v * v;
    }
    sum_sq = block_sum(sum_sq);  // every read of the row's x is done here: out may alias x
    const float s = 1.0f / sqrtf(sum_sq / float(dim) + eps);
    if (threadIdx.x == 0) rstd.set(r, s);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) out.set(base + i, (weight[i] + offset) * (x[base + i] * s));
  }
}

// With n = x * s and y = n * (w + offset): dL/dx = s * (dn - n * mean(dn * n)), dn = dout * (w + offset).
__global__ void rmsnorm_backward_dx_kernel(Out dx, In dout, In x, In weight, In rstd, int64_t rows, int64_t dim,
                                           float offset) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = r * dim;
    const float s = rstd[r];
    float dot = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
      dot += dout[base + i] * (weight[i] + offset) * (x[base + i] * s);
    dot = block_sum(dot);
    const float mean_dot = dot / float(dim);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
      dx.add(base + i, s * (dout[base + i] * (weight[i] + offset) - x[base + i] * s * mean_dot));
  }
}

// partials[part * dim + c] = sum over the part's rows of dout * x * rstd in column c (dL/dw per part).
__global__ void rmsnorm_dweight_parts_kernel(float* partials, In dout, In x, In rstd, int64_t rows, int64_t dim,
                                             int64_t part_rows) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t part = blockIdx.y;
  if (c >= dim) return;
  const int64_t begin = part * part_rows, end = begin + part_rows < rows ? begin + part_rows : rows;
  float sum = 0;
  for (int64_t r = begin; r < end; ++r) sum += dout[r * dim + c] * (x[r * dim + c] * rstd[r]);
  partials[part * dim + c] = sum;
}

__global__ void layernorm_forward_kernel(Out out, Out mean, Out rstd, In x, In weight, In bias, int64_t rows,
                                         int64_t dim, float eps) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = r * dim;
    float sum = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += x[base + i];
    const float mu = block_sum(sum) / float(dim);
    float sum_sq = 0;  // two passes: no cancellation when |mean| >> std
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float c = x[base + i] - mu;
      sum_sq += c * c;
    }
    sum_sq = block_sum(sum_sq);  // every read of the row's x is done here: out may alias x
    const float s = 1.0f / sqrtf(sum_sq / float(dim) + eps);
    if (threadIdx.x == 0) {
      mean.set(r, mu);
      rstd.set(r, s);
    }
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float y = (x[base + i] - mu) * s * weight[i];
      out.set(base + i, bias ? y + bias[i] : y);
    }
  }
}

// With n = (x - mean) * s and dn = dout * w: dL/dx = s * (dn - mean(dn) - n * mean(dn * n)).
__global__ void layernorm_backward_dx_kernel(Out dx, In dout, In x, In weight, In mean, In rstd, int64_t rows,
                                             int64_t dim) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = r * dim;
    const float mu = mean[r], s = rstd[r];
    float sum_dn = 0, dot = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float dn = dout[base + i] * weight[i];
      sum_dn += dn;
      dot += dn * ((x[base + i] - mu) * s);
    }
    sum_dn = block_sum(sum_dn);
    dot = block_sum(dot);
    const float mean_dn = sum_dn / float(dim), mean_dot = dot / float(dim);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
      dx.add(base + i, s * (dout[base + i] * weight[i] - mean_dn - (x[base + i] - mu) * s * mean_dot));
  }
}

// partials[part * 2 * dim + c] = the part's sum of dout * n in column c (dL/dw), [... + dim + c] of dout (dL/dbias).
__global__ void layernorm_dparams_parts_kernel(float* partials, In dout, In x, In mean, In rstd, int64_t rows,
                                               int64_t dim, int64_t part_rows) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t part = blockIdx.y;
  if (c >= dim) return;
  const int64_t begin = part * part_rows, end = begin + part_rows < rows ? begin + part_rows : rows;
  float dw = 0, db = 0;
  for (int64_t r = begin; r < end; ++r) {
    const float g = dout[r * dim + c];
    dw += g * ((x[r * dim + c] - mean[r]) * rstd[r]);
    db += g;
  }
  partials[part * 2 * dim + c] = dw;
  partials[part * 2 * dim + dim + c] = db;
}

// dst[c] += sum over parts p (in order) of partials[p * stride + offset + c], c < dim.
__global__ void add_parts_kernel(Out dst, const float* partials, int64_t parts, int64_t stride, int64_t offset,
                                 int64_t dim) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= dim) return;
  float sum = 0;
  for (int64_t p = 0; p < parts; ++p) sum += partials[p * stride + offset + c];
  dst.add(c, sum);
}

dim3 column_grid(int64_t dim, int64_t parts) {
  const int64_t blocks = (dim + kColumnThreads - 1) / kColumnThreads;
  TANDEM_CHECK(blocks <= 0x7fffffff && parts <= 65535, "norm gradients: dim ", dim, " or parts ", parts,
               " out of the launch range");
  return dim3{unsigned(blocks), unsigned(parts)};
}

}  // namespace

void rmsnorm_forward(Out out, Out rstd, In x, In weight, int64_t rows, int64_t dim, float eps, float offset,
                     cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  rmsnorm_forward_kernel<<<row_blocks(rows), kRowThreads, 0, stream>>>(out, rstd, x, weight, rows, dim, eps, offset);
  TANDEM_CUDA_LAUNCHED("rmsnorm_forward");
}

void rmsnorm_backward(Out dx, Out dweight, float* partials, In dout, In x, In weight, In rstd, int64_t rows,
                      int64_t dim, float offset, cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  if (dweight) {
    const int64_t parts = norm_parts(rows);
    rmsnorm_dweight_parts_kernel<<<column_grid(dim, parts), kColumnThreads, 0, stream>>>(partials, dout, x, rstd,
                                                                                         rows, dim,
                                                                                         norm_rows_per_part(rows));
    TANDEM_CUDA_LAUNCHED("rmsnorm_dweight_parts");
    add_parts_kernel<<<column_grid(dim, 1), kColumnThreads, 0, stream>>>(dweight, partials, parts, dim, 0, dim);
    TANDEM_CUDA_LAUNCHED("rmsnorm_dweight");
  }
  rmsnorm_backward_dx_kernel<<<row_blocks(rows), kRowThreads, 0, stream>>>(dx, dout, x, weight, rstd, rows, dim,
                                                                           offset);
  TANDEM_CUDA_LAUNCHED("rmsnorm_backward");
}

void layernorm_forward(Out out, Out mean, Out rstd, In x, In weight, In bias, int64_t rows, int64_t dim, float eps,
                       cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  layernorm_forward_kernel<<<row_blocks(rows), kRowThreads, 0, stream>>>(out, mean, rstd, x, weight, bias, rows, dim,
                                                                         eps);
  TANDEM_CUDA_LAUNCHED("layernorm_forward");
}

void layernorm_backward(Out dx, Out dweight, Out dbias, float* partials, In dout, In x, In weight, In mean, In rstd,
                        int64_t rows, int64_t dim, cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return;
  if (dweight || dbias) {
    const int64_t parts = norm_parts(rows);
    layernorm_dparams_parts_kernel<<<column_grid(dim, parts), kColumnThreads, 0, stream>>>(
        partials, dout, x, mean, rstd, rows, dim, norm_rows_per_part(rows));
    TANDEM_CUDA_LAUNCHED("layernorm_dparams_parts");
    if (dweight) {
      add_parts_kernel<<<column_grid(dim, 1), kColumnThreads, 0, stream>>>(dweight, partials, parts, 2 * dim, 0, dim);
      TANDEM_CUDA_LAUNCHED("layernorm_dweight");
    }
    if (dbias) {
      add_parts_kernel<<<column_grid(dim, 1), kColumnThreads, 0, stream>>>(dbias, partials, parts, 2 * dim, dim, dim);
      TANDEM_CUDA_LAUNCHED("layernorm_dbias");
    }
  }
  layernorm_backward_dx_kernel<<<row_blocks(rows), kRowThreads, 0, stream>>>(dx, dout, x, weight, mean, rstd, rows,
                                                                             dim);
  TANDEM_CUDA_LAUNCHED("layernorm_backward");
}

}  // namespace tandem::cuda
