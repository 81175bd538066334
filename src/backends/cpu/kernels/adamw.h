// The AdamW update of one tensor (torch.optim.AdamW semantics; the caller computes the bias corrections).
#pragma once
#include <cstdint>

#include "core/bf16.h"

namespace tandem {

// p *= decay; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= step_size * m / (sqrt(v) / bc2_sqrt + eps),
// with g = grad * grad_scale. When `rounded` is non-null, p is an f32 master copy and rounded[j] receives its bf16
// rounding in the same pass (one read of p instead of two).
template <typename F>
void adamw_update(F* p, const F* grad, F* m, F* v, int64_t n, float step_size, float b1, float b2, float eps,
                  float decay, float bc2_sqrt, float grad_scale, bf16* rounded = nullptr);

}  // namespace tandem
