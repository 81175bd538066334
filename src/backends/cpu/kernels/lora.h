// The low-rank branch of a LoRA linear layer: y += scale * (x_d A^T) B^T, with A [r, in], B [out, r] and
// x_d the (dropped-out) input. h = x_d A^T [n, r] is saved for the backward pass.
#pragma once
#include <cstdint>

namespace tandem {

struct LoraShape {
  int64_t rows, in, out, rank;
  double scale;  // lora_alpha / r
};

template <typename F>
void lora_forward(F* y, F* h, const F* x_d, const F* a, const F* b, const LoraShape& s);

// dx_d += dL/dx_d (null: skipped), da += dL/dA, db += dL/dB.
template <typename F>
void lora_backward(F* dx_d, F* da, F* db, const F* dy, const F* x_d, const F* h, const F* a, const F* b,
                   const LoraShape& s);

}  // namespace tandem
