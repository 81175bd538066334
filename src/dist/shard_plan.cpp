#include "dist/shard_plan.h"

#include <algorithm>

#include "core/check.h"
#include "dist/shards.h"

namespace tandem {

ShardPlan::ShardPlan(std::vector<int64_t> numels, int world) : numels_(std::move(numels)), world_(world) {
  TANDEM_CHECK(world >= 1, "ShardPlan: a world of ", world, " ranks");
  for (size_t i = 0; i < numels_.size(); ++i) {
    TANDEM_CHECK(numels_[i] >= 0, "ShardPlan: tensor ", i, " has ", numels_[i], " elements");
    offsets_.push_back(offsets_.back() + numels_[i]);
  }
}

ElementRange ShardPlan::rank_range(int rank) const {
  TANDEM_CHECK(rank >= 0 && rank < world_, "ShardPlan: rank ", rank, " outside a world of ", world_);
  const auto [begin, end] = even_range(total(), rank, world_);
  return {begin, end};
}

ElementRange ShardPlan::slice(size_t tensor, int rank) const {
  TANDEM_CHECK(tensor < numels_.size(), "ShardPlan: tensor ", tensor, " of ", numels_.size());
  const ElementRange owned = rank_range(rank);
  const int64_t first = offsets_[tensor], last = offsets_[tensor + 1];
  const int64_t b = std::max(first, owned.begin), e = std::min(last, owned.end);
  if (b >= e) return {0, 0};
  return {b - first, e - first};
}

}  // namespace tandem
