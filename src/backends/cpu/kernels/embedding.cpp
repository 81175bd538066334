#include "backends/cpu/kernels/embedding.h"

#include <algorithm>

namespace tandem {

template <typename F>
void embedding_forward(F* out, const int32_t* ids, const F* table, int64_t n, int64_t dim) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) std::copy_n(table + ids[i] * dim, dim, out + i * dim);
}

template <typename F>
void embedding_backward(F* dtable, const int32_t* ids, const F* dout, int64_t n, int64_t dim) {
  // Parallel over columns, not rows: repeated ids would race on the same table row.
#pragma omp parallel for schedule(static)
  for (int64_t c0 = 0; c0 < dim; c0 += 64) {
    const int64_t c1 = std::min(dim, c0 + 64);
    for (int64_t i = 0; i < n; ++i) {
      F* row = dtable + ids[i] * dim;
      const F* g = dout + i * dim;
      for (int64_t c = c0; c < c1; ++c) row[c] += g[c];
    }
  }
}

void embedding_forward(float* out, const int32_t* ids, const bf16* table, int64_t n, int64_t dim) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < dim; ++c) out[i * dim + c] = to_float(table[ids[i] * dim + c]);
}

template void embedding_forward<float>(float*, const int32_t*, const float*, int64_t, int64_t);
template void embedding_forward<double>(double*, const int32_t*, const double*, int64_t, int64_t);
template void embedding_backward<float>(float*, const int32_t*, const float*, int64_t, int64_t);
template void embedding_backward<double>(double*, const int32_t*, const double*, int64_t, int64_t);

}  // namespace tandem
