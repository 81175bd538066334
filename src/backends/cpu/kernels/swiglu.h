// SwiGLU gate of the Llama MLP: out = silu(gate) * up, elementwise.
#pragma once
#include <cstdint>

#include "core/bf16.h"

namespace tandem {

// S: the activations' storage (f32, bf16 or f64), computed in compute_t<S>.
template <typename S>
void swiglu_forward(S* out, const S* gate, const S* up, int64_t n);

// dgate += dout * up * silu'(gate), dup += dout * silu(gate). The gradients are in the compute type of S.
template <typename S>
void swiglu_backward(compute_t<S>* dgate, compute_t<S>* dup, const compute_t<S>* dout, const S* gate, const S* up,
                     int64_t n);

}  // namespace tandem
