// What the CUDA attention kernels share: the problem as kernel arguments, the square tile size (query rows = keys
// per tile) that fits the kernels' shared memory at a head_dim, and the sequence length as the kernels read it.
// The kernels take any head_dim: it is a runtime loop bound, and larger heads get smaller tiles.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

// One attention call (backends/attention_shape.h): q [B, T, H, D], k and v [B, T, G, D], right-padded rows
// (lengths [B]), the optional mask arrays [B * T] (null: plain causal), and the scoring with its scale resolved.
struct AttentionProblem {
  In q, k, v;
  const int32_t* lengths = nullptr;
  const int32_t* segment_start = nullptr;
  const int32_t* prefix_end = nullptr;
  int64_t batch = 0, seq = 0, heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 1, cap = 0;  // cap 0: no soft cap
  int64_t window = 0;        // 0: no sliding window
};

// Threads per block of the tiled kernels.
constexpr int kAttentionThreads = 256;

// Shared-memory floats of a kernel holding `rows` tile x head_dim arrays (row stride head_dim + 1, so that threads
// walking different rows hit different banks), `squares` tile x tile arrays (row stride tile + 1) and `vectors`
// per-row values.
inline int64_t attention_smem_floats(int tile, int64_t head_dim, int rows, int squares, int vectors) {
  return int64_t(rows) * tile * (head_dim + 1) + int64_t(squares) * tile * (tile + 1) + int64_t(vectors) * tile;
}

// The largest tile of 64, 32, ..., 1 whose shared memory fits this GPU (at most ~100 KB, so that two blocks can
// share an SM); an error naming the op when even one row does not fit.
int attention_tile(const char* op, int64_t head_dim, int rows, int squares, int vectors);

// Rows of sequence b that are real (lengths[b], kept within [0, T] so a bad length cannot index out of bounds).
__device__ __forceinline__ int64_t sequence_length(const AttentionProblem& p, int64_t b) {
  const int64_t n = p.lengths[b];
  return n < 0 ? 0 : (n > p.seq ? p.seq : n);
}

// Gemma-2's soft cap on a scaled product z: cap tanh(z / cap), or z when cap is 0.
__device__ __forceinline__ float capped_score(float z, float cap) { return cap > 0 ? cap * tanhf(z / cap) : z; }

}  // namespace tandem::cuda
