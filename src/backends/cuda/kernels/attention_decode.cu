// One block per (query row, head) walks the cached keys it sees in chunks of one key per thread, with an online
// softmax (running max and sum, rescaled accumulator) as the training forward: any cache length in O(D) shared
// memory. fp32 on CUDA cores; each block writes only its own row, in a fixed order (the same bits every run).
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/attention_decode.cuh"
#include "backends/cuda/kernels/attention_mask.cuh"
#include "backends/cuda/kernels/attention_tiles.cuh"

namespace tandem::cuda {

namespace {

constexpr int kDecodeThreads = 128;  // keys scored per chunk

__global__ void __launch_bounds__(kDecodeThreads) attention_decode_kernel(DecodeProblem p, Out out) {
  extern __shared__ float smem[];
  const int D = int(p.head_dim);
  float* qs = smem;              // [D] the query row
  float* acc = qs + D;           // [D] unnormalised output
  float* probs = acc + D;        // [kDecodeThreads] this chunk's scores, then exps
  float* stats = probs + kDecodeThreads;  // running max, running sum, this chunk's rescale

  const int64_t i = blockIdx.x, h = blockIdx.y, H = p.heads, G = p.kv_heads, g = h / (H / G);
  const int64_t last = p.start + i, first = window_first(last, p.window);  // keys [first, last]
  const int tid = int(threadIdx.x);

  for (int d = tid; d < D; d += kDecodeThreads) qs[d] = p.q[(i * H + h) * D + d], acc[d] = 0.f;
  if (tid == 0) stats[0] = -INFINITY, stats[1] = 0.f, stats[2] = 0.f;
  __syncthreads();

  for (int64_t j0 = first; j0 <= last; j0 += kDecodeThreads) {
    const int count = int(last + 1 - j0 < kDecodeThreads ? last + 1 - j0 : kDecodeThreads);  // keys [j0, j0 + count)
    float s = -INFINITY;
    if (tid < count) {
      const int64_t at = ((j0 + tid) * G + g) * D;
      float dot = 0.f;
      for (int d = 0; d < D; ++d) dot += qs[d] * p.k_cache[at + d];
      s = capped_score(p.scale * dot, p.cap);
    }
    probs[tid] = s;
    __syncthreads();
    if (tid == 0) {  // every score of the chunk is finite: all its keys are seen
      const float old_max = stats[0];
      float mx = old_max;
      for (int c = 0; c < count; ++c) mx = fmaxf(mx, probs[c]);
      const float a = old_max == -INFINITY ? 0.f : expf(old_max - mx);
      float sum = 0.f;
      for (int c = 0; c < count; ++c) sum += (probs[c] = expf(probs[c] - mx));
      stats[0] = mx, stats[1] = a * stats[1] + sum, stats[2] = a;
    }
    __syncthreads();
    for (int d = tid; d < D; d += kDecodeThreads) {
      float sum = 0.f;
      for (int c = 0; c < count; ++c) sum += probs[c] * p.v_cache[((j0 + c) * G + g) * D + d];
      acc[d] = stats[2] * acc[d] + sum;
    }
    __syncthreads();
  }

  const float inv = 1.f / stats[1];
  for (int d = tid; d < D; d += kDecodeThreads) out.set((i * H + h) * D + d, acc[d] * inv);
}

}  // namespace

void attention_decode(const DecodeProblem& p, Out out, cudaStream_t stream) {
  if (p.n * p.heads * p.head_dim == 0) return;
  const size_t bytes = size_t(2 * p.head_dim + kDecodeThreads + 3) * sizeof(float);
  TANDEM_CHECK(bytes <= 100 * 1024, "attention_decode: head_dim ", p.head_dim,
               " is too large for the CUDA decode kernel's shared memory");
  TANDEM_CUDA_CHECK(
      cudaFuncSetAttribute(attention_decode_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  const dim3 grid(unsigned(p.n), unsigned(p.heads));
  attention_decode_kernel<<<grid, kDecodeThreads, bytes, stream>>>(p, out);
  TANDEM_CUDA_LAUNCHED("attention_decode_kernel");
}

}  // namespace tandem::cuda
