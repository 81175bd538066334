// Token embeddings (the CPU backend's kernels/embedding.cpp): out [n, dim] = table[ids] and its gradient
// dtable[ids[i]] += dout[i], both over a table of `vocab` rows. An id outside [0, vocab) reads as a zero row and
// adds nothing (the CPU kernel does not check ids either; here a bad id must not touch memory outside the table).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem::cuda {

void embedding_forward(Out out, const int32_t* ids, In table, int64_t n, int64_t dim, int64_t vocab,
                       cudaStream_t stream);
// Deterministic without float atomics: every (table row, column) has exactly one owner thread, which adds the
// gradients of that row in token order.
void embedding_backward(Out dtable, const int32_t* ids, In dout, int64_t n, int64_t dim, int64_t vocab,
                        cudaStream_t stream);

}  // namespace tandem::cuda
