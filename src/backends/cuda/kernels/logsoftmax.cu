#include <cmath>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/logsoftmax.cuh"

namespace tandem::cuda {

namespace {

constexpr int kThreads = 512;  // a 150k vocabulary row is ~300 elements a thread
constexpr int kWarps = kThreads / 32;

struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Sum {
  __device__ float operator()(float a, float b) const { return a + b; }
};

// The block's reduction of v, returned to every thread: a butterfly within each warp, then every warp reduces the
// warp results the same way (so all threads hold the same bits). Ends synchronised: `shared` may be reused.
template <typename Op>
__device__ float block_reduce(float v, float* shared, Op op, float identity) {
  const int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
  for (int o = 16; o > 0; o /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < kWarps ? shared[lane] : identity;
  for (int o = 16; o > 0; o /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  return v;
}

__global__ void __launch_bounds__(kThreads) logsoftmax_rows_kernel(LogsoftmaxRows a) {
  __shared__ float shared[kWarps];
  const int64_t i = blockIdx.x, V = a.vocab;
  float* row = a.logits + i * V;
  const float cap = a.softcap, inv_cap = cap > 0 ? 1.0f / cap : 0.0f;

  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += kThreads) {
    float z = row[j];
    if (cap > 0) {
      z = cap * tanhf(z * inv_cap);
      row[j] = z;  // the backward needs the capped logits for the cap's slope
    }
    mx = fmaxf(mx, z);
  }
  mx = block_reduce(mx, shared, Max{}, -INFINITY);
  float sum = 0;
  for (int64_t j = threadIdx.x; j < V; j += kThreads) sum += expf(row[j] - mx);
  sum = block_reduce(sum, shared, Sum{}, 0.0f);  // also makes every capped row[j] visible to every thread

  const int32_t t = a.target[i];
  const float logit_t = row[t];
  if (threadIdx.x == 0 && a.logp) a.logp.set(i, logit_t - (mx + logf(sum)));
  if (!a.grad) return;  // uniform over the block

  // d logp / d logit_j = onehot_j - softmax_j, times grad, times the cap's slope 1 - (c_j / cap)^2.
  const float g = a.grad[i], scale = -g / sum;
  __syncthreads();  // every thread has read row[t] before the row is overwritten
  __nv_bfloat16* out16 = a.dlogits_bf16 ? static_cast<__nv_bfloat16*>(a.dlogits_bf16) + i * V : nullptr;
  for (int64_t j = threadIdx.x; j < V; j += kThreads) {
    const float c = row[j];
    float d = expf(c - mx) * scale;
    if (j == t) d += g;
    if (cap > 0) d *= 1.0f - (c * inv_cap) * (c * inv_cap);
    if (out16) out16[j] = __float2bfloat16_rn(d);
    else row[j] = d;
  }
}

}  // namespace

void logsoftmax_rows(const LogsoftmaxRows& a, cudaStream_t stream) {
  if (a.rows <= 0 || a.vocab <= 0) return;
  logsoftmax_rows_kernel<<<unsigned(a.rows), kThreads, 0, stream>>>(a);
  TANDEM_CUDA_LAUNCHED("logsoftmax_rows");
}

}  // namespace tandem::cuda
