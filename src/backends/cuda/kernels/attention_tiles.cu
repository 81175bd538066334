#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/attention_tiles.cuh"

namespace tandem::cuda {

int attention_tile(const char* op, int64_t head_dim, int rows, int squares, int vectors) {
  int device = 0, optin = 0;
  TANDEM_CUDA_CHECK(cudaGetDevice(&device));
  TANDEM_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const int64_t limit = optin < 100 * 1024 ? optin : 100 * 1024;
  for (int tile = 64; tile >= 1; tile /= 2)
    if (attention_smem_floats(tile, head_dim, rows, squares, vectors) * int64_t(sizeof(float)) <= limit) return tile;
  fail(op, ": head_dim ", head_dim, " is too large for the CUDA attention kernels' shared memory (", limit,
       " bytes per block)");
}

}  // namespace tandem::cuda
