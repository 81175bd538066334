// SwiGLU gate of the Llama MLP: out = silu(gate) * up, elementwise.
#pragma once
#include <cstdint>

namespace tandem {

template <typename F>
void swiglu_forward(F* out, const F* gate, const F* up, int64_t n);

// dgate += dout * up * silu'(gate), dup += dout * silu(gate).
template <typename F>
void swiglu_backward(F* dgate, F* dup, const F* dout, const F* gate, const F* up, int64_t n);

}  // namespace tandem
