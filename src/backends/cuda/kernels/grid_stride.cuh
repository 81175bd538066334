// The elementwise kernels' loop: each thread takes indices i = its global id, + the grid's thread count, ... < n,
// so a capped grid (typed.cuh's blocks_for) still covers any n. 64-bit indices throughout.
#pragma once
#include <cstdint>

#define TANDEM_GRID_STRIDE(i, n)                                                                 \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)
