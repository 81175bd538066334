// Kernel arguments of either float storage type. The model mixes f32 and bf16 within one op (bf16 activations and
// weights, f32 residual stream, gradients and statistics), so a kernel reads and writes through these: one uniform
// branch per access (the same for every thread of a launch), fp32 arithmetic whatever the storage, as the CPU
// backend's kernels. Built on the host by the backend (CudaBackend::in / out), which checks the dtype.
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

namespace tandem::cuda {

struct In {
  const void* p = nullptr;
  bool bf16 = false;
  __device__ __forceinline__ float operator[](int64_t i) const {
    return bf16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]) : static_cast<const float*>(p)[i];
  }
  __host__ __device__ explicit operator bool() const { return p != nullptr; }
};

struct Out {
  void* p = nullptr;
  bool bf16 = false;
  __device__ __forceinline__ float get(int64_t i) const {
    return bf16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]) : static_cast<const float*>(p)[i];
  }
  // Rounds to nearest even for bf16, as the CPU backend's f32_to_bf16.
  __device__ __forceinline__ void set(int64_t i, float v) const {
    if (bf16) static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
    else static_cast<float*>(p)[i] = v;
  }
  __device__ __forceinline__ void add(int64_t i, float v) const { set(i, get(i) + v); }
  __host__ __device__ explicit operator bool() const { return p != nullptr; }
  __host__ __device__ operator In() const { return In{p, bf16}; }
};

// Blocks of `threads` covering n elements (grid-stride loops cover the rest past the cap).
inline unsigned blocks_for(int64_t n, int threads = 256) {
  const int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > 65535 * 16 ? 65535 * 16 : b));
}

}  // namespace tandem::cuda
