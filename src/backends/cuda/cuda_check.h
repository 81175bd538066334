// CUDA and cuBLAS status codes turned into tandem errors that name the call and what it was doing.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include "core/check.h"

#define TANDEM_CUDA_CHECK(call, ...)                                                                        \
  do {                                                                                                      \
    const cudaError_t tandem_status_ = (call);                                                              \
    if (tandem_status_ != cudaSuccess)                                                                      \
      ::tandem::fail("cuda: ", #call, " failed (", cudaGetErrorString(tandem_status_), ")" __VA_OPT__(, ) \
                     __VA_ARGS__);                                                                          \
  } while (0)

#define TANDEM_CUBLAS_CHECK(call, ...)                                                                      \
  do {                                                                                                      \
    const cublasStatus_t tandem_status_ = (call);                                                           \
    if (tandem_status_ != CUBLAS_STATUS_SUCCESS)                                                            \
      ::tandem::fail("cublas: ", #call, " failed (", cublasLtGetStatusString(tandem_status_), ")"            \
                     __VA_OPT__(, ) __VA_ARGS__);                                                           \
  } while (0)

// After a kernel launch: a bad launch configuration surfaces here, naming the kernel, not at a later sync.
#define TANDEM_CUDA_LAUNCHED(kernel_name) TANDEM_CUDA_CHECK(cudaGetLastError(), " launching ", kernel_name)
