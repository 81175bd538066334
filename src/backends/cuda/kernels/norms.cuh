// RMSNorm and LayerNorm over rows of `dim` (the CPU backend's kernels/rmsnorm.cpp and layernorm.cpp): one block
// per row, statistics in f32. The weight (and bias) gradients are sums over rows, made deterministic without float
// atomics: per-part column sums into `partials` (scratch), then one pass adds the parts in order.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/norm_parts.h"
#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

// The backward launchers' `partials` holds norm_parts(rows) * dim floats for RMSNorm, * 2 * dim for LayerNorm
// (when a weight or bias gradient is wanted).

// out = x * rstd * (weight + offset), rstd [rows] = 1 / sqrt(mean(x^2) + eps).
void rmsnorm_forward(Out out, Out rstd, In x, In weight, int64_t rows, int64_t dim, float eps, float offset,
                     cudaStream_t stream);
// dx += ..., dweight += ... (null dweight: frozen weight, partials unused).
void rmsnorm_backward(Out dx, Out dweight, float* partials, In dout, In x, In weight, In rstd, int64_t rows,
                      int64_t dim, float offset, cudaStream_t stream);

// out = (x - mean) * rstd * weight (+ bias when non-null), biased variance; mean and rstd [rows].
void layernorm_forward(Out out, Out mean, Out rstd, In x, In weight, In bias, int64_t rows, int64_t dim, float eps,
                       cudaStream_t stream);
// dx += ...; dweight, dbias += ... when non-null.
void layernorm_backward(Out dx, Out dweight, Out dbias, float* partials, In dout, In x, In weight, In mean, In rstd,
                        int64_t rows, int64_t dim, cudaStream_t stream);

}  // namespace tandem::cuda
