// The MLP's activations (the CPU backend's kernels/activation.cpp, same formulas): gated (act(gate) * up: SwiGLU,
// GeGLU) and plain (act(x)), forward and backward. Backward ops add into their gradients.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/activation.h"
#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

void glu_forward(Out out, In gate, In up, int64_t n, Activation act, cudaStream_t stream);
// dgate += dout * up * act'(gate), dup += dout * act(gate).
void glu_backward(Out dgate, Out dup, In dout, In gate, In up, int64_t n, Activation act, cudaStream_t stream);
void activation_forward(Out out, In x, int64_t n, Activation act, cudaStream_t stream);
// dx += dout * act'(x).
void activation_backward(Out dx, In dout, In x, int64_t n, Activation act, cudaStream_t stream);

}  // namespace tandem::cuda
