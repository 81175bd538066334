// Timing across data-parallel ranks: a collective step is done when its slowest rank is.
#pragma once
#include <algorithm>
#include <vector>

#include "bench_timing.h"
#include "dist/comm.h"

namespace tandem::bench {

struct Timing {
  double median_s, min_s;
};

// Each rank's per-repetition times, gathered; the slowest rank's time per repetition, then their median and min (on
// a shared machine the min is the least disturbed figure).
inline Timing slowest_rank(Comm& comm, const std::vector<double>& mine) {
  const std::vector<double> all = allgather_concat(comm, mine);
  std::vector<double> per_rep(mine.size(), 0.0);
  for (size_t i = 0; i < all.size(); ++i) per_rep[i % mine.size()] = std::max(per_rep[i % mine.size()], all[i]);
  return {median(per_rep), *std::min_element(per_rep.begin(), per_rep.end())};
}

}  // namespace tandem::bench
