// Token embedding lookup: out[n] = table[ids[n]].
#pragma once
#include <cstdint>

#include "core/bf16.h"

namespace tandem {

template <typename F>
void embedding_forward(F* out, const int32_t* ids, const F* table, int64_t n, int64_t dim);

// A bf16 table read into f32 rows (the residual stream stays f32 in bf16 training).
void embedding_forward(float* out, const int32_t* ids, const bf16* table, int64_t n, int64_t dim);

// dtable[ids[n]] += dout[n]. Backward kernels in Tandem always *add* into their gradient outputs.
template <typename F>
void embedding_backward(F* dtable, const int32_t* ids, const F* dout, int64_t n, int64_t dim);

}  // namespace tandem
