// The collectives of dist/comm.h on the ranks mpirun started, against values each rank computes alone. Written for
// any number of ranks (CMake runs two; one process runs them as the identity).
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "dist/comm.h"

namespace tandem {
namespace {

TEST(Comm, SumsEveryTypeOverRanks) {
  Comm& w = world();
  const int n = w.size(), r = w.rank();
  // Small integers and halves: every partial sum is exact in f32, so the order MPI adds in does not matter.
  std::vector<float> f(37);
  std::vector<double> d(37);
  std::vector<int64_t> k(37);
  for (int i = 0; i < 37; ++i) {
    f[size_t(i)] = float((r + 1) * i) * 0.5f;
    d[size_t(i)] = double(r + 1) * 0.25 - i;
    k[size_t(i)] = (int64_t{1} << 40) * (r + 1) + i;  // beyond 32 bits
  }
  w.allreduce_sum(f.data(), int64_t(f.size()));
  w.allreduce_sum(d.data(), int64_t(d.size()));
  w.allreduce_sum(k.data(), int64_t(k.size()));
  const int64_t ranks_sum = int64_t(n) * (n + 1) / 2;  // sum of r + 1 over ranks
  for (int i = 0; i < 37; ++i) {
    EXPECT_EQ(f[size_t(i)], float(ranks_sum * i) * 0.5f) << i;
    EXPECT_EQ(d[size_t(i)], double(ranks_sum) * 0.25 - double(n) * i) << i;
    EXPECT_EQ(k[size_t(i)], (int64_t{1} << 40) * ranks_sum + int64_t(n) * i) << i;
  }
  EXPECT_EQ(sum_over_ranks(w, 1.5), 1.5 * n);
  EXPECT_EQ(sum_over_ranks(w, int64_t(r)), int64_t(n) * (n - 1) / 2);
}

TEST(Comm, BroadcastFromEveryRoot) {
  Comm& w = world();
  for (int root = 0; root < w.size(); ++root) {
    std::vector<unsigned char> bytes(1001, 0);
    if (w.rank() == root)
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 7 + root);
    w.broadcast(bytes.data(), int64_t(bytes.size()), root);
    size_t wrong = 0;  // counted, not asserted: an early return would skip the next roots' collectives
    for (size_t i = 0; i < bytes.size(); ++i) wrong += bytes[i] != static_cast<unsigned char>(i * 7 + root);
    EXPECT_EQ(wrong, 0u) << "bytes differ after the broadcast from root " << root;
    const std::string mine = w.rank() == root ? "from root " + std::to_string(root) : "ignored";
    EXPECT_EQ(broadcast_string(w, mine, root), "from root " + std::to_string(root));
  }
}

// Rank r's part: r + 3 bytes of value 10 r + k, at offsets with a gap of 2 bytes between parts.
struct Parts {
  std::vector<int64_t> counts, displs;
  int64_t total = 0;
  explicit Parts(int n) {
    for (int r = 0; r < n; ++r) {
      counts.push_back(r + 3), displs.push_back(total);
      total += r + 3 + 2;
    }
  }
  static std::vector<unsigned char> part(int r) {
    std::vector<unsigned char> p(size_t(r + 3));
    for (size_t k = 0; k < p.size(); ++k) p[k] = static_cast<unsigned char>(10 * r + int(k));
    return p;
  }
  // What the receive buffer holds afterwards: every part in place, the gaps as they were (0xEE).
  std::vector<unsigned char> expected(int n) const {
    std::vector<unsigned char> e(size_t(total), 0xEE);
    for (int r = 0; r < n; ++r) {
      const auto p = part(r);
      std::memcpy(e.data() + displs[size_t(r)], p.data(), p.size());
    }
    return e;
  }
};

TEST(Comm, AllgathervFromASeparateBuffer) {
  Comm& w = world();
  const Parts parts(w.size());
  const auto mine = Parts::part(w.rank());
  std::vector<unsigned char> recv(size_t(parts.total), 0xEE);
  w.allgatherv(mine.data(), recv.data(), parts.counts, parts.displs);
  EXPECT_EQ(recv, parts.expected(w.size()));
}

TEST(Comm, AllgathervInPlace) {
  Comm& w = world();
  const Parts parts(w.size());
  const auto mine = Parts::part(w.rank());
  std::vector<unsigned char> recv(size_t(parts.total), 0xEE);
  unsigned char* own = recv.data() + parts.displs[size_t(w.rank())];
  std::memcpy(own, mine.data(), mine.size());
  w.allgatherv(own, recv.data(), parts.counts, parts.displs);
  EXPECT_EQ(recv, parts.expected(w.size()));
}

TEST(Comm, GathervReachesOnlyTheRoot) {
  Comm& w = world();
  const Parts parts(w.size());
  const auto mine = Parts::part(w.rank());
  const int root = w.size() - 1;  // not always rank 0
  std::vector<unsigned char> recv(size_t(parts.total), 0xEE);
  w.gatherv(mine.data(), recv.data(), parts.counts, parts.displs, root);
  if (w.rank() == root) EXPECT_EQ(recv, parts.expected(w.size()));
  else EXPECT_EQ(recv, std::vector<unsigned char>(size_t(parts.total), 0xEE)) << "a non-root buffer was written";
}

TEST(Comm, AllgatherStringsInRankOrder) {
  Comm& w = world();
  // Rank 0's string is empty; the others hold bytes beyond ASCII and a NUL.
  std::string mine;
  for (int k = 0; k < w.rank() * 5; ++k) mine.push_back(char(k % 3 == 0 ? 0 : 200 + w.rank() + k));
  const std::vector<std::string> all = allgather_strings(w, mine);
  ASSERT_EQ(all.size(), size_t(w.size()));
  for (int r = 0; r < w.size(); ++r) {
    std::string want;
    for (int k = 0; k < r * 5; ++k) want.push_back(char(k % 3 == 0 ? 0 : 200 + r + k));
    EXPECT_EQ(all[size_t(r)], want) << "rank " << r;
  }
}

TEST(Comm, AllgatherConcatOfUnequalLengths) {
  Comm& w = world();
  // Rank r holds r values (rank 0 none).
  std::vector<double> d;
  std::vector<int64_t> k;
  for (int i = 0; i < w.rank(); ++i) d.push_back(w.rank() + i / 8.0), k.push_back(-(int64_t{1} << 50) + 100 * w.rank() + i);
  const std::vector<double> all_d = allgather_concat(w, d);
  const std::vector<int64_t> all_k = allgather_concat(w, k);
  std::vector<double> want_d;
  std::vector<int64_t> want_k;
  for (int r = 0; r < w.size(); ++r)
    for (int i = 0; i < r; ++i) want_d.push_back(r + i / 8.0), want_k.push_back(-(int64_t{1} << 50) + 100 * r + i);
  EXPECT_EQ(all_d, want_d);
  EXPECT_EQ(all_k, want_k);
}

TEST(Comm, NonBlockingSumsCompleteAtWaitAll) {
  Comm& w = world();
  const int n = w.size();
  // Three buckets of different sizes, started one after another with progress between, as backward does.
  std::vector<std::vector<float>> buckets = {std::vector<float>(5), std::vector<float>(4096), std::vector<float>(1)};
  for (size_t b = 0; b < buckets.size(); ++b) {
    for (size_t i = 0; i < buckets[b].size(); ++i) buckets[b][i] = float(w.rank() + 1) * float(i % 97) + float(b);
    w.start_allreduce_sum(buckets[b].data(), int64_t(buckets[b].size()));
    w.progress();
  }
  w.wait_all();
  for (size_t b = 0; b < buckets.size(); ++b) {
    size_t wrong = 0;
    for (size_t i = 0; i < buckets[b].size(); ++i)
      wrong += buckets[b][i] != float(n * (n + 1) / 2) * float(i % 97) + float(b) * float(n);
    EXPECT_EQ(wrong, 0u) << "bucket " << b;
  }
  // The blocking collectives work again after wait_all.
  EXPECT_EQ(sum_over_ranks(w, int64_t(1)), int64_t(n));
  w.barrier();
}

}  // namespace
}  // namespace tandem
