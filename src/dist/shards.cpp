#include "dist/shards.h"

#include "core/check.h"

namespace tandem {

std::vector<int64_t> rank_slice(const std::vector<int64_t>& global, int rank, int world) {
  TANDEM_CHECK(world > 0 && global.size() % size_t(world) == 0, "a global batch of ", global.size(),
               " examples does not split over ", world, " ranks");
  const size_t per = global.size() / size_t(world);
  return {global.begin() + std::ptrdiff_t(per * size_t(rank)), global.begin() + std::ptrdiff_t(per * size_t(rank + 1))};
}

std::pair<int64_t, int64_t> even_range(int64_t n, int rank, int world) {
  const int64_t base = n / world, extra = n % world;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace tandem
