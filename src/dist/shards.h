// Which examples each rank reads. A training stream draws a global batch of world x per-device examples; rank r takes
// the r-th consecutive slice, so N ranks read exactly the examples one rank with an N-times larger batch would, and
// each epoch's examples are covered once across ranks. Evaluation sets split into contiguous, near-equal ranges.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace tandem {

// Rank `rank`'s slice of a global batch (its size a multiple of world).
std::vector<int64_t> rank_slice(const std::vector<int64_t>& global, int rank, int world);

// [begin, end) of rank `rank` when n items are split into `world` contiguous ranges differing by at most one.
std::pair<int64_t, int64_t> even_range(int64_t n, int rank, int world);

}  // namespace tandem
