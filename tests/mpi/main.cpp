// The main of tandem_mpi_tests, the tests that need several ranks (CMake runs it under mpirun -np 2). Rank 0 prints
// gtest's usual output; the other ranks print only their failures, prefixed with their rank. After each test the
// ranks agree on which of them failed, so rank 0's log names a failure on any rank, and every rank exits non-zero
// when any rank failed (mpirun, and so ctest, then report the failure).
//
// A test must make the same collectives on every rank whatever it finds (EXPECT rather than ASSERT before the last
// collective), or the ranks wait for each other until ctest's timeout.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "dist/comm.h"

namespace {

using namespace tandem;

// Prints a failed assertion on a rank other than 0 (which has gtest's printer).
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  // The test's name is kept here: UnitTest::current_test_info() would wait on the lock gtest holds while it reports
  // a result.
  void OnTestStart(const ::testing::TestInfo& t) override {
    test_ = std::string(t.test_suite_name()) + "." + t.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::printf("[rank %d] %s failed at %s:%d\n%s\n", rank_, test_.c_str(), r.file_name() ? r.file_name() : "?",
                r.line_number(), r.message());
    std::fflush(stdout);
  }

 private:
  int rank_;
  std::string test_;
};

// After each test every rank learns which ranks failed it; rank 0 names them.
class AgreeOnFailures : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& t) override {
    Comm& w = world();
    std::vector<int64_t> failed(size_t(w.size()), 0);
    failed[size_t(w.rank())] = t.result()->Failed() ? 1 : 0;
    w.allreduce_sum(failed.data(), int64_t(failed.size()));
    std::string ranks;
    for (int r = 1; r < w.size(); ++r)
      if (failed[size_t(r)]) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    if (w.rank() == 0 && !ranks.empty()) {
      std::printf("[  FAILED  ] %s.%s failed on rank %s (its messages above, prefixed [rank N])\n", t.test_suite_name(),
                  t.name(), ranks.c_str());
      std::fflush(stdout);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  connect_launched_ranks(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  Comm& w = world();
  ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (w.rank() != 0) {
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(w.rank()));
  }
  listeners.Append(new AgreeOnFailures);
  if (w.rank() == 0) std::printf("tandem_mpi_tests: %d rank(s), %s\n", w.size(), w.backend_name().c_str());
  const int mine = RUN_ALL_TESTS();
  const int64_t failed_ranks = sum_over_ranks(w, int64_t(mine != 0));
  if (w.rank() == 0 && failed_ranks > 0) std::printf("tandem_mpi_tests: failures on %lld rank(s)\n", (long long)failed_ranks);
  finalize_world();
  return failed_ranks > 0 ? 1 : 0;
}
