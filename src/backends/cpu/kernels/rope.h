// Rotary position embedding in the Hugging Face Llama convention: each head vector is split in halves
// (x1, x2) and rotated as (x1 cos - x2 sin, x2 cos + x1 sin), frequency i shared by x1[i] and x2[i].
// Partial rotary (GPT-NeoX rotary_pct, Phi-3 partial_rotary_factor): a table of `half` < head_dim / 2 frequencies
// rotates only the first 2 * half dims of each head, as HF applies rotate_half to x[..., :rotary_dim]; the rest
// pass through.
#pragma once
#include <cstdint>

#include "core/bf16.h"

namespace tandem {

// cos/sin tables [positions, half] with 2 * half = rotary dims <= head_dim, as the kernels read them
// (model/rope_table.h computes them).
struct RopeView {
  const float* cos;
  const float* sin;
  int64_t positions, half;
};

// x: [batch, seq, heads, head_dim] in storage S (f32, bf16 or f64), rotated in place in compute_t<S>. The position
// of row (b, t) is positions[b * seq + t], or t when positions is null (packed rows restart positions per example).
template <typename S>
void rope_forward(S* x, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                  const int32_t* positions = nullptr);

// The rotation is orthogonal: the backward pass rotates the gradient by the inverse angle, in place.
template <typename S>
void rope_backward(S* dx, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                   const int32_t* positions = nullptr);

}  // namespace tandem
