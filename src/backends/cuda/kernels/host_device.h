// Pure math and index helpers shared by the CUDA kernels and host code (tests/test_cuda_kernels_host.cpp checks
// them on the CPU, where no GPU is needed): TANDEM_HOST_DEVICE marks them for both sides under nvcc and is empty
// under a host compiler.
#pragma once

#ifdef __CUDACC__
#define TANDEM_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define TANDEM_HOST_DEVICE inline
#endif
