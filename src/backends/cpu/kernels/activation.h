// The MLP's elementwise activations (backends/activation.h), gated and plain:
//   glu:        out = act(gate) * up      (Llama's SwiGLU with kSilu, Gemma's GeGLU with kGeluTanh)
//   activation: out = act(x)              (GPT-NeoX's plain MLP with kGelu)
// S is the activations' storage (f32, bf16 or f64), computed in compute_t<S>; gradients are in compute_t<S>.
#pragma once
#include <cstdint>

#include "backends/activation.h"
#include "core/bf16.h"

namespace tandem {

template <typename S>
void glu_forward(S* out, const S* gate, const S* up, int64_t n, Activation act);

// dgate += dout * up * act'(gate), dup += dout * act(gate).
template <typename S>
void glu_backward(compute_t<S>* dgate, compute_t<S>* dup, const compute_t<S>* dout, const S* gate, const S* up,
                  int64_t n, Activation act);

template <typename S>
void activation_forward(S* out, const S* x, int64_t n, Activation act);

// dx += dout * act'(x).
template <typename S>
void activation_backward(compute_t<S>* dx, const compute_t<S>* dout, const S* x, int64_t n, Activation act);

}  // namespace tandem
