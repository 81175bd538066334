// Token embedding lookup: out[n] = table[ids[n]].
#pragma once
#include <cstdint>

namespace tandem {

template <typename F>
void embedding_forward(F* out, const int32_t* ids, const F* table, int64_t n, int64_t dim);

// dtable[ids[n]] += dout[n]. Backward kernels in Tandem always *add* into their gradient outputs.
template <typename F>
void embedding_backward(F* dtable, const int32_t* ids, const F* dout, int64_t n, int64_t dim);

}  // namespace tandem
