#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/grid_stride.cuh"
#include "backends/cuda/kernels/rope.cuh"

namespace tandem::cuda {

namespace {

constexpr int kThreads = 256;

// One thread per (row of one head, frequency i): it owns the pair x[i], x[i + half], so the update in place is safe.
// sign = +1 rotates forward, -1 back.
__global__ void rope_kernel(Out x, In cos, In sin, int64_t table_positions, int64_t half, int64_t seq,
                            int64_t heads, int64_t head_dim, const int32_t* positions, float sign, int64_t pairs) {
  TANDEM_GRID_STRIDE(k, pairs) {
    const int64_t row = k / half, i = k % half;  // row = (b * seq + t) * heads + h
    const int64_t token = row / heads;             // b * seq + t
    const int64_t pos = positions ? int64_t(positions[token]) : token % seq;
    if (pos < 0 || pos >= table_positions) continue;
    const int64_t v = row * head_dim;
    const float x1 = x.get(v + i), x2 = x.get(v + i + half);
    const float ci = cos[pos * half + i], si = sign * sin[pos * half + i];
    x.set(v + i, x1 * ci - x2 * si);
    x.set(v + i + half, x2 * ci + x1 * si);
  }
}

}  // namespace

void rope(Out x, In cos, In sin, int64_t table_positions, int64_t half, int64_t batch, int64_t seq, int64_t heads,
          int64_t head_dim, const int32_t* positions, bool inverse, cudaStream_t stream) {
  const int64_t pairs = batch * seq * heads * half;
  if (pairs <= 0) return;
  rope_kernel<<<blocks_for(pairs, kThreads), kThreads, 0, stream>>>(x, cos, sin, table_positions, half, seq, heads,
                                                                    head_dim, positions, inverse ? -1.0f : 1.0f,
                                                                    pairs);
  TANDEM_CUDA_LAUNCHED("rope");
}

}  // namespace tandem::cuda
