#include "dist/fault_injection.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace tandem {

namespace {

struct FaultAt {
  long long rank = -1, step = -1;
  bool matches(int r, int64_t s) const { return rank == r && step == s; }
};

FaultAt read_fault(const char* variable) {
  FaultAt a;
  if (const char* v = std::getenv(variable)) std::sscanf(v, "%lld:%lld", &a.rank, &a.step);
  return a;
}

}  // namespace

bool nan_fault_at(int rank, int64_t step) {
  static const FaultAt at = read_fault("TANDEM_FAULT_NAN_AT");
  return at.matches(rank, step);
}

void die_if_fault_at(int rank, int64_t step) {
  static const FaultAt at = read_fault("TANDEM_FAULT_KILL_AT");
  if (!at.matches(rank, step)) return;
  std::fprintf(stderr, "fault test: rank %d killed at the start of step %lld\n", rank, (long long)step);
  std::raise(SIGKILL);
}

}  // namespace tandem
