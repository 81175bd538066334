// ZeRO-1's partition (dist/shard_plan.h): every element of every tensor owned by exactly one rank, ranks within one
// element of each other, for awkward sizes; and on the ranks mpirun started, the slices each rank owns tile the
// parameters when gathered.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "dist/comm.h"
#include "dist/shard_plan.h"
#include "expect_error.h"

namespace tandem {
namespace {

// Counts, element by element, how many ranks own each element (through slice(), tensor by tensor), and how many
// elements each rank owns in all.
void check_plan(const std::vector<int64_t>& numels, int world) {
  SCOPED_TRACE("world " + std::to_string(world) + ", " + std::to_string(numels.size()) + " tensors");
  const ShardPlan plan(numels, world);
  std::vector<int64_t> per_rank(size_t(world), 0);
  int64_t total = 0;
  for (size_t t = 0; t < numels.size(); ++t) {
    std::vector<int> owners(size_t(numels[t]), 0);
    int last_rank = -1;
    for (int r = 0; r < world; ++r) {
      const ElementRange s = plan.slice(t, r);
      if (s.empty()) continue;
      ASSERT_TRUE(s.begin >= 0 && s.end <= numels[t]) << "tensor " << t << " rank " << r;
      ASSERT_GT(r, last_rank);
      last_rank = r;
      for (int64_t e = s.begin; e < s.end; ++e) ++owners[size_t(e)];
      per_rank[size_t(r)] += s.size();
    }
    for (size_t e = 0; e < owners.size(); ++e) ASSERT_EQ(owners[e], 1) << "tensor " << t << " element " << e;
    total += numels[t];
  }
  const auto [lo, hi] = std::minmax_element(per_rank.begin(), per_rank.end());
  EXPECT_LE(*hi - *lo, 1) << "ranks own " << *lo << " to " << *hi << " elements";
  EXPECT_EQ(plan.total(), total);
  // Ranks own consecutive flat ranges in rank order.
  EXPECT_EQ(plan.rank_range(0).begin, 0);
  for (int r = 0; r + 1 < world; ++r) EXPECT_EQ(plan.rank_range(r).end, plan.rank_range(r + 1).begin);
  EXPECT_EQ(plan.rank_range(world - 1).end, total);
}

TEST(ShardPlan, CoversEveryElementOnceForAwkwardSizes) {
  const std::vector<std::vector<int64_t>> cases = {
      {},                                   // no parameters
      {0, 0},                               // only empty ones
      {1},                                  // fewer elements than ranks
      {3, 0, 1, 2},                         // tensors smaller than the world, one empty
      {1000003},                            // one huge tensor (prime size)
      {7, (int64_t{1} << 20) + 3, 2, 0, 5}, // an embedding that dominates, among small ones
      {64, 64, 64, 64},                     // divides evenly
  };
  for (const auto& numels : cases)
    for (int world : {1, 2, 3, 4, 7, 8}) check_plan(numels, world);
}

TEST(ShardPlan, RejectsANonsensePlan) {
  testing::expect_error([] { ShardPlan({4}, 0); }, {"world of 0"});
  testing::expect_error([] { ShardPlan({4, -1}, 2); }, {"tensor 1", "-1 elements"});
  testing::expect_error([] { (void)ShardPlan({4}, 2).slice(1, 0); }, {"tensor 1 of 1"});
}

// On the running ranks: each rank's slices, gathered, tile the tensors in rank order.
TEST(ShardPlan, RanksSlicesTileTheParameters) {
  Comm& w = world();
  const std::vector<int64_t> numels = {3, 0, 1, 517, 2};
  const ShardPlan plan(numels, w.size());
  std::vector<int64_t> mine;  // (tensor, begin, end) per non-empty slice of this rank
  for (size_t t = 0; t < numels.size(); ++t)
    if (const ElementRange s = plan.slice(t, w.rank()); !s.empty())
      mine.insert(mine.end(), {int64_t(t), s.begin, s.end});
  const std::vector<int64_t> all = allgather_concat(w, mine);
  std::vector<int64_t> next(numels.size(), 0);  // each tensor's next uncovered element
  for (size_t k = 0; k + 2 < all.size(); k += 3) {
    const size_t t = size_t(all[k]);
    EXPECT_EQ(all[k + 1], next[t]) << "tensor " << t << ": a gap or an overlap";
    next[t] = all[k + 2];
  }
  EXPECT_EQ(next, numels);
}

}  // namespace
}  // namespace tandem
