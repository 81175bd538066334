// Elementwise kernels over n values (the CPU backend's kernels/elementwise.cpp): residual adds, gradient products
// and scaling, the gradient norm's sum of squares, Gemma-2's logit soft cap. Launchers run on `stream`; n == 0 is
// a no-op.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

void add(Out out, In a, In b, int64_t n, cudaStream_t stream);      // out = a + b (out may alias a or b)
void mul(Out out, In a, In b, int64_t n, cudaStream_t stream);      // out = a * b
void add_mul(Out acc, In a, In b, int64_t n, cudaStream_t stream);  // acc += a * b
void scale(Out x, float s, int64_t n, cudaStream_t stream);         // x *= s
void tanh_softcap(Out x, double cap, int64_t n, cudaStream_t stream);  // x = cap * tanh(x / cap)

// The sum of x^2 accumulated in f64, in a fixed order (per-block partials in `partials`, then one block adds them
// in block order) into *result (device memory). partials holds kSumSquaresMaxBlocks doubles.
constexpr int kSumSquaresMaxBlocks = 1024;
void sum_squares(double* result, double* partials, In x, int64_t n, cudaStream_t stream);

}  // namespace tandem::cuda
