// Three kernels, none with a floating-point atomic, so the gradients are the same bits every run:
// 1. delta[b, h, i] = dO_i . O_i, one warp per row (a fixed shuffle tree).
// 2. dK, dV: one block per (key tile, kv head, sequence) owns those key rows; it sums over the query heads that
//    share the kv head and over the query tiles that may see its keys, in a fixed order, then adds into dk, dv.
// 3. dQ: one block per (query tile, head, sequence) owns those query rows and walks the key tiles they may see.
// Both 2 and 3 recompute the probabilities P = exp(S - lse) from q, k and the saved lse with the same device code,
// then (with P = softmax(S) and delta = sum_j P_ij dP_ij = dO_i . O_i) dS = P (dP - delta), dP = dO V^T, times the
// soft cap's slope 1 - tanh^2 when capped; dV = P^T dO, dK = scale dS^T Q, dQ = scale dS K. fp32 in shared memory
// on CUDA cores: the products are where bf16 tensor-core MMA with fp32 accumulation would go later.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/attention_backward.cuh"
#include "backends/cuda/kernels/attention_mask.cuh"

namespace tandem::cuda {

namespace {

// delta[(b H + h) T + i] = dO . O over the head's D values for real rows, 0 for padding rows. One warp per row.
__global__ void attention_delta_kernel(AttentionProblem p, In dout, In out, float* delta) {
  const int64_t rows = p.batch * p.heads * p.seq, D = p.head_dim;
  const int lane = int(threadIdx.x) % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; row < rows; row += warps) {
    const int64_t i = row % p.seq, bh = row / p.seq, h = bh % p.heads, b = bh / p.heads;
    const int64_t at = ((b * p.seq + i) * p.heads + h) * D;
    float sum = 0.f;
    if (i < sequence_length(p, b))
      for (int64_t d = lane; d < D; d += 32) sum += dout[at + d] * out[at + d];
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (lane == 0) delta[row] = sum;
  }
}

// One (query tile, key tile) pair of head h: P[r][c] = exp(S_rc - lse_r) and dS[r][c] (the gradient of the scaled
// product, soft cap's slope included) for the real rows r < qcount and keys c < kcount the mask lets row i0 + r see;
// 0 elsewhere. Qs, dOs: the query tile's q and dout rows; Ks, Vs: the key tile's k and v rows (row stride ld);
// P and dS have row stride tile + 1.
__device__ void probabilities_and_score_grads(const AttentionProblem& p, int tile, int64_t flat0, int64_t i0,
                                              int qcount, int64_t j0, int kcount, const float* Qs, const float* dOs,
                                              const float* Ks, const float* Vs, const float* lse_s,
                                              const float* delta_s, float* P, float* dS) {
  const int D = int(p.head_dim), ld = D + 1, lds = tile + 1;
  for (int idx = int(threadIdx.x); idx < tile * tile; idx += int(blockDim.x)) {
    const int r = idx / tile, c = idx % tile;
    float prob = 0.f, grad = 0.f;
    if (r < qcount && c < kcount && row_keys(i0 + r, flat0, p.segment_start, p.prefix_end, p.window).sees(j0 + c)) {
      float qk = 0.f, dp = 0.f;  // (Tensor-core MMA would go here: S = Q K^T and dP = dO V^T.)
      for (int d = 0; d < D; ++d) {
        qk += Qs[r * ld + d] * Ks[c * ld + d];
        dp += dOs[r * ld + d] * Vs[c * ld + d];
      }
      const float z = p.scale * qk;
      float s = z, slope = 1.f;
      if (p.cap > 0) {
        const float t = tanhf(z / p.cap);
        s = p.cap * t, slope = 1.f - t * t;
      }
      prob = expf(s - lse_s[r]);
      grad = prob * (dp - delta_s[r]) * slope;
    }
    P[r * lds + c] = prob;
    dS[r * lds + c] = grad;
  }
}

// Rows [first, first + count) of a [B, T, heads, D] tensor's head `head` into a tile x ld shared array; zeros past
// count.
__device__ void load_rows(float* dst, In src, int64_t b, int64_t first, int count, int64_t head, int64_t heads,
                          const AttentionProblem& p, int tile) {
  const int D = int(p.head_dim), ld = D + 1;
  for (int idx = int(threadIdx.x); idx < tile * D; idx += int(blockDim.x)) {
    const int r = idx / D, d = idx % D;
    dst[r * ld + d] = r < count ? src[((b * p.seq + first + r) * heads + head) * D + d] : 0.f;
  }
}

// The per-row lse and delta of query rows [i0, i0 + count) of head h; zeros past count.
__device__ void load_row_stats(float* lse_s, float* delta_s, In lse, const float* delta, int64_t bh, int64_t i0,
                               int count, const AttentionProblem& p, int tile) {
  for (int r = int(threadIdx.x); r < tile; r += int(blockDim.x)) {
    lse_s[r] = r < count ? lse[bh * p.seq + i0 + r] : 0.f;
    delta_s[r] = r < count ? delta[bh * p.seq + i0 + r] : 0.f;
  }
}

// Whether any real row of [i0, i0 + qcount) sees a key of [j0, j0 + kcount); a block-wide vote, so every thread of
// the block must call it.
__device__ bool tile_pair_visible(const AttentionProblem& p, int tile, int64_t flat0, int64_t i0, int qcount,
                                  int64_t j0, int kcount) {
  bool seen = false;
  for (int r = int(threadIdx.x); r < tile; r += int(blockDim.x))
    if (r < qcount)
      seen |= row_keys(i0 + r, flat0, p.segment_start, p.prefix_end, p.window).sees_any(j0, j0 + kcount);
  return __syncthreads_or(seen);
}

constexpr int kKeyRowArrays = 6, kQueryRowArrays = 5, kSquares = 2, kVectors = 2;

__global__ void __launch_bounds__(kAttentionThreads)
    attention_dkdv_kernel(AttentionProblem p, int tile, In dout, In lse, const float* delta, Out dk, Out dv) {
  extern __shared__ float smem[];
  const int D = int(p.head_dim), ld = D + 1, lds = tile + 1;
  float* Ks = smem;                // [tile][ld] this block's keys
  float* Vs = Ks + tile * ld;      // [tile][ld] and values
  float* dKs = Vs + tile * ld;     // [tile][ld] their gradients, summed over heads and query tiles
  float* dVs = dKs + tile * ld;    // [tile][ld]
  float* Qs = dVs + tile * ld;     // [tile][ld] the current query tile's q rows
  float* dOs = Qs + tile * ld;     // [tile][ld] and dout rows
  float* P = dOs + tile * ld;      // [tile][lds]
  float* dS = P + tile * lds;      // [tile][lds]
  float* lse_s = dS + tile * lds;  // [tile]
  float* delta_s = lse_s + tile;   // [tile]

  const int64_t T = p.seq, G = p.kv_heads, group = p.heads / G;
  const int64_t b = blockIdx.z, g = blockIdx.y, j0 = int64_t(blockIdx.x) * tile, flat0 = b * T;
  const int64_t L = sequence_length(p, b);
  // Keys at or past L get no gradient: only padding rows (which the backward skips) could see them.
  const int kcount = int(L - j0 <= 0 ? 0 : (L - j0 < tile ? L - j0 : tile));
  const int tid = int(threadIdx.x), threads = int(blockDim.x);

  load_rows(Ks, p.k, b, j0, kcount, g, G, p, tile);
  load_rows(Vs, p.v, b, j0, kcount, g, G, p, tile);
  for (int idx = tid; idx < tile * ld; idx += threads) dKs[idx] = 0.f, dVs[idx] = 0.f;
  __syncthreads();

  if (kcount > 0) {
    // Rows before j0 see only earlier keys; rows from rows_end on are past the window of every key here.
    const int64_t rows_end = rows_end_for_keys(j0 + kcount, L, p.window);
    for (int64_t h = g * group; h < (g + 1) * group; ++h)
      for (int64_t i0 = j0; i0 < rows_end; i0 += tile) {
        const int qcount = int(L - i0 < tile ? L - i0 : tile);  // i0 < rows_end <= L
        if (!tile_pair_visible(p, tile, flat0, i0, qcount, j0, kcount)) continue;
        load_rows(Qs, p.q, b, i0, qcount, h, p.heads, p, tile);
        load_rows(dOs, dout, b, i0, qcount, h, p.heads, p, tile);
        load_row_stats(lse_s, delta_s, lse, delta, b * p.heads + h, i0, qcount, p, tile);
        __syncthreads();
        probabilities_and_score_grads(p, tile, flat0, i0, qcount, j0, kcount, Qs, dOs, Ks, Vs, lse_s, delta_s, P,
                                      dS);
        __syncthreads();
        // dV += P^T dO, dK += scale dS^T Q, summed over the tile's rows in order. (Tensor-core MMA would go here.)
        for (int idx = tid; idx < tile * D; idx += threads) {
          const int c = idx / D, d = idx % D;
          float dv_sum = 0.f, dk_sum = 0.f;
          for (int r = 0; r < qcount; ++r) {
            dv_sum += P[r * lds + c] * dOs[r * ld + d];
            dk_sum += dS[r * lds + c] * Qs[r * ld + d];
          }
          dVs[c * ld + d] += dv_sum;
          dKs[c * ld + d] += p.scale * dk_sum;
        }
        __syncthreads();
      }
  }

  // Backward ops add into their gradients; keys past L add zeros, as the CPU kernel's scatter does.
  for (int idx = tid; idx < tile * D; idx += threads) {
    const int c = idx / D, d = idx % D;
    const int64_t j = j0 + c;
    if (j >= T) continue;
    const int64_t at = ((b * T + j) * G + g) * D + d;
    dk.add(at, dKs[c * ld + d]);
    dv.add(at, dVs[c * ld + d]);
  }
}

__global__ void __launch_bounds__(kAttentionThreads)
    attention_dq_kernel(AttentionProblem p, int tile, In dout, In lse, const float* delta, Out dq) {
  extern __shared__ float smem[];
  const int D = int(p.head_dim), ld = D + 1, lds = tile + 1;
  float* Qs = smem;                // [tile][ld] this block's q rows
  float* dOs = Qs + tile * ld;     // [tile][ld] and dout rows
  float* dQs = dOs + tile * ld;    // [tile][ld] their q gradients
  float* Ks = dQs + tile * ld;     // [tile][ld] the current key tile's keys
  float* Vs = Ks + tile * ld;      // [tile][ld] and values
  float* P = Vs + tile * ld;       // [tile][lds]
  float* dS = P + tile * lds;      // [tile][lds]
  float* lse_s = dS + tile * lds;  // [tile]
  float* delta_s = lse_s + tile;   // [tile]

  const int64_t T = p.seq, H = p.heads, G = p.kv_heads;
  const int64_t b = blockIdx.z, h = blockIdx.y, i0 = int64_t(blockIdx.x) * tile, flat0 = b * T;
  const int64_t g = h / (H / G), L = sequence_length(p, b);
  const int64_t i1 = i0 + tile < L ? i0 + tile : L;  // real rows [i0, i1); padding rows get no gradient
  const int qcount = int(i1 > i0 ? i1 - i0 : 0);
  const int tid = int(threadIdx.x), threads = int(blockDim.x);

  load_rows(Qs, p.q, b, i0, qcount, h, H, p, tile);
  load_rows(dOs, dout, b, i0, qcount, h, H, p, tile);
  load_row_stats(lse_s, delta_s, lse, delta, b * H + h, i0, qcount, p, tile);
  for (int idx = tid; idx < tile * ld; idx += threads) dQs[idx] = 0.f;
  __syncthreads();

  if (qcount > 0)
    for (int64_t j0 = first_key_tile(i0, p.window, tile); j0 < i1; j0 += tile) {
      const int kcount = int(i1 - j0 < tile ? i1 - j0 : tile);
      if (!tile_pair_visible(p, tile, flat0, i0, qcount, j0, kcount)) continue;
      load_rows(Ks, p.k, b, j0, kcount, g, G, p, tile);
      load_rows(Vs, p.v, b, j0, kcount, g, G, p, tile);
      __syncthreads();
      probabilities_and_score_grads(p, tile, flat0, i0, qcount, j0, kcount, Qs, dOs, Ks, Vs, lse_s, delta_s, P, dS);
      __syncthreads();
      // dQ += scale dS K, summed over the tile's keys in order. (Tensor-core MMA would go here.)
      for (int idx = tid; idx < tile * D; idx += threads) {
        const int r = idx / D, d = idx % D;
        float sum = 0.f;
        for (int c = 0; c < kcount; ++c) sum += dS[r * lds + c] * Ks[c * ld + d];
        dQs[r * ld + d] += p.scale * sum;
      }
      __syncthreads();
    }

  for (int idx = tid; idx < tile * D; idx += threads) {
    const int r = idx / D, d = idx % D;
    const int64_t i = i0 + r;
    if (i < T) dq.add(((b * T + i) * H + h) * D + d, dQs[r * ld + d]);
  }
}

template <typename Kernel>
void launch_tiled(Kernel kernel, const char* name, int tile, int rows, const AttentionProblem& p, int64_t heads,
                  cudaStream_t stream, auto... args) {
  const size_t bytes = size_t(attention_smem_floats(tile, p.head_dim, rows, kSquares, kVectors)) * sizeof(float);
  TANDEM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  const dim3 grid(unsigned((p.seq + tile - 1) / tile), unsigned(heads), unsigned(p.batch));
  kernel<<<grid, kAttentionThreads, bytes, stream>>>(p, tile, args...);
  TANDEM_CUDA_LAUNCHED(name);
}

}  // namespace

void attention_backward(const AttentionProblem& p, Out dq, Out dk, Out dv, In dout, In out, In lse, float* delta,
                        cudaStream_t stream) {
  if (p.batch * p.seq * p.heads * p.head_dim == 0) return;
  const int64_t rows = p.batch * p.heads * p.seq;
  attention_delta_kernel<<<blocks_for(rows * 32, 256), 256, 0, stream>>>(p, dout, out, delta);
  TANDEM_CUDA_LAUNCHED("attention_delta_kernel");
  const int key_tile = attention_tile("attention_backward", p.head_dim, kKeyRowArrays, kSquares, kVectors);
  launch_tiled(attention_dkdv_kernel, "attention_dkdv_kernel", key_tile, kKeyRowArrays, p, p.kv_heads, stream, dout,
               lse, static_cast<const float*>(delta), dk, dv);
  const int query_tile = attention_tile("attention_backward", p.head_dim, kQueryRowArrays, kSquares, kVectors);
  launch_tiled(attention_dq_kernel, "attention_dq_kernel", query_tile, kQueryRowArrays, p, p.heads, stream, dout,
               lse, static_cast<const float*>(delta), dq);
}

}  // namespace tandem::cuda
