// Deterministic parallel reductions. Each thread sums its static share of rows into its own buffer and the
// buffers are added in thread order, so a run with the same thread count is bit-for-bit reproducible
// (a resumed run must follow the same trajectory).
#pragma once
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem {

// Calls row_fn(row, partial) for every row in [0, rows), with `partial` a zeroed buffer of `width` values
// owned by the calling thread; afterwards adds all partials into out[0..width).
template <typename F, typename RowFn>
void parallel_rows_reduce(int64_t rows, int64_t width, F* out, RowFn row_fn) {
  const int threads = omp_get_max_threads();
  std::vector<F> partials(static_cast<size_t>(threads * width), F(0));
#pragma omp parallel num_threads(threads)
  {
    F* partial = partials.data() + omp_get_thread_num() * width;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) row_fn(r, partial);
  }
  for (int t = 0; t < threads; ++t)
    for (int64_t i = 0; i < width; ++i) out[i] += partials[t * width + i];
}

}  // namespace tandem
