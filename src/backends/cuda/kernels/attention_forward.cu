// One block per (query tile, head, sequence) walks the key tiles its rows may see with an online softmax (running
// max m, running sum l, rescaled output accumulator), so no T x T score matrix ever exists. Everything is fp32 in
// shared memory on CUDA cores; the two products (S = Q K^T and O += P V) are where bf16 tensor-core MMA with fp32
// accumulation would go later. Each block writes only its own rows, in a fixed order: the same bits every run.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/attention_forward.cuh"
#include "backends/cuda/kernels/attention_mask.cuh"

namespace tandem::cuda {

namespace {

constexpr int kRowArrays = 4, kSquares = 1, kVectors = 3;  // Q, K, V, O; S; m, l, alpha

__global__ void __launch_bounds__(kAttentionThreads)
    attention_forward_kernel(AttentionProblem p, int tile, Out out, Out lse) {
  extern __shared__ float smem[];
  const int D = int(p.head_dim), ld = D + 1, lds = tile + 1;
  float* Qs = smem;                  // [tile][ld] query rows
  float* Ks = Qs + tile * ld;        // [tile][ld] keys of the current key tile
  float* Vs = Ks + tile * ld;        // [tile][ld] values of the current key tile
  float* Os = Vs + tile * ld;        // [tile][ld] unnormalised output rows
  float* S = Os + tile * ld;         // [tile][lds] scores, then probabilities
  float* m = S + tile * lds;         // [tile] running max of the visible scores
  float* l = m + tile;               // [tile] running sum of exp(score - m)
  float* alpha = l + tile;           // [tile] this key tile's rescale of the earlier sums

  const int64_t T = p.seq, H = p.heads, b = blockIdx.z, h = blockIdx.y, i0 = int64_t(blockIdx.x) * tile;
  const int64_t g = h / (H / p.kv_heads), flat0 = b * T;
  const int64_t L = sequence_length(p, b);
  const int64_t i1 = i0 + tile < L ? i0 + tile : L;  // real rows are [i0, i1); none when i1 <= i0
  const int tid = int(threadIdx.x), threads = int(blockDim.x);

  for (int idx = tid; idx < tile * D; idx += threads) {
    const int r = idx / D, d = idx % D;
    const int64_t i = i0 + r;
    Qs[r * ld + d] = i < i1 ? p.q[((b * T + i) * H + h) * D + d] : 0.f;
    Os[r * ld + d] = 0.f;
  }
  for (int r = tid; r < tile; r += threads) m[r] = -INFINITY, l[r] = 0.f, alpha[r] = 0.f;
  __syncthreads();

  // Keys at or past i1 are in every real row's future; keys before the window of row i0 are behind every row's.
  for (int64_t j0 = first_key_tile(i0, p.window, tile); j0 < i1; j0 += tile) {
    const int kcount = int(i1 - j0 < tile ? i1 - j0 : tile);  // keys [j0, j0 + kcount), all < L <= T
    bool seen = false;
    for (int r = tid; r < tile; r += threads)
      if (i0 + r < i1)
        seen |= row_keys(i0 + r, flat0, p.segment_start, p.prefix_end, p.window).sees_any(j0, j0 + kcount);
    if (!__syncthreads_or(seen)) continue;  // no row sees this tile (packing, prefixes, the window)

    for (int idx = tid; idx < tile * D; idx += threads) {
      const int c = idx / D, d = idx % D;
      const int64_t at = ((b * T + j0 + c) * p.kv_heads + g) * D + d;
      Ks[c * ld + d] = c < kcount ? p.k[at] : 0.f;
      Vs[c * ld + d] = c < kcount ? p.v[at] : 0.f;
    }
    __syncthreads();

    // S = scale Q K^T (soft-capped), -inf where the mask hides the key. (Tensor-core MMA would go here.)
    for (int idx = tid; idx < tile * tile; idx += threads) {
      const int r = idx / tile, c = idx % tile;
      const int64_t i = i0 + r, j = j0 + c;
      float s = -INFINITY;
      if (i < i1 && c < kcount && row_keys(i, flat0, p.segment_start, p.prefix_end, p.window).sees(j)) {
        float dot = 0.f;
        for (int d = 0; d < D; ++d) dot += Qs[r * ld + d] * Ks[c * ld + d];
        s = capped_score(p.scale * dot, p.cap);
      }
      S[r * lds + c] = s;
    }
    __syncthreads();

    // Online softmax, one thread per row: the new max, the rescale of what came before, this tile's exps.
    for (int r = tid; r < tile; r += threads) {
      const float old_max = m[r];
      float mx = old_max;
      for (int c = 0; c < tile; ++c) mx = fmaxf(mx, S[r * lds + c]);
      // A row that has seen nothing yet has l = 0 and O = 0: its rescale is moot (and exp(-inf - -inf) is NaN).
      const float a = old_max == -INFINITY ? 0.f : expf(old_max - mx);
      float sum = 0.f;
      for (int c = 0; c < tile; ++c) {
        const float s = S[r * lds + c];
        const float e = s == -INFINITY ? 0.f : expf(s - mx);
        S[r * lds + c] = e;
        sum += e;
      }
      m[r] = mx, l[r] = a * l[r] + sum, alpha[r] = a;
    }
    __syncthreads();

    // O = alpha O + P V. (Tensor-core MMA would go here.)
    for (int idx = tid; idx < tile * D; idx += threads) {
      const int r = idx / D, d = idx % D;
      float acc = 0.f;
      for (int c = 0; c < kcount; ++c) acc += S[r * lds + c] * Vs[c * ld + d];
      Os[r * ld + d] = alpha[r] * Os[r * ld + d] + acc;
    }
    __syncthreads();
  }

  // out = O / l and lse = m + log l for real rows; zeros for padding rows (as the CPU kernel's zero_rows).
  for (int idx = tid; idx < tile * D; idx += threads) {
    const int r = idx / D, d = idx % D;
    const int64_t i = i0 + r;
    if (i >= T) continue;
    out.set(((b * T + i) * H + h) * D + d, i < i1 ? Os[r * ld + d] * (1.f / l[r]) : 0.f);
  }
  for (int r = tid; r < tile; r += threads) {
    const int64_t i = i0 + r;
    if (i < T) lse.set((b * H + h) * T + i, i < i1 ? m[r] + logf(l[r]) : 0.f);
  }
}

}  // namespace

void attention_forward(const AttentionProblem& p, Out out, Out lse, cudaStream_t stream) {
  if (p.batch * p.seq * p.heads * p.head_dim == 0) return;
  const int tile = attention_tile("attention", p.head_dim, kRowArrays, kSquares, kVectors);
  const size_t bytes = size_t(attention_smem_floats(tile, p.head_dim, kRowArrays, kSquares, kVectors)) * sizeof(float);
  TANDEM_CUDA_CHECK(
      cudaFuncSetAttribute(attention_forward_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  const dim3 grid(unsigned((p.seq + tile - 1) / tile), unsigned(p.heads), unsigned(p.batch));
  attention_forward_kernel<<<grid, kAttentionThreads, bytes, stream>>>(p, tile, out, lse);
  TANDEM_CUDA_LAUNCHED("attention_forward_kernel");
}

}  // namespace tandem::cuda
