// Deterministic sums inside one thread block: warp shuffles, then one warp over the per-warp sums. The order of
// the additions depends only on blockDim, so the same inputs give the same bits on every run.
#pragma once
#include <cstdint>

namespace tandem::cuda {

constexpr int kWarp = 32;

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;  // lane 0 holds the warp's sum
}

// The sum of v over the block, returned to every thread. blockDim.x must be a multiple of 32 (at most 1024) and
// every thread of the block must call it (it synchronises). Safe to call repeatedly: it synchronises before
// reusing its shared memory.
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T warp_sums[kWarp];
  __shared__ T total;
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp, warps = int(blockDim.x) / kWarp;
  v = warp_sum(v);
  __syncthreads();  // an earlier call's readers of `total` are done
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_sum(lane < warps ? warp_sums[lane] : T(0));
    if (lane == 0) total = v;
  }
  __syncthreads();
  return total;
}

}  // namespace tandem::cuda
