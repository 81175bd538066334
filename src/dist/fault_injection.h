// Test hooks for data-parallel faults, read from the environment once (without them each check costs a comparison):
//   TANDEM_FAULT_NAN_AT="RANK:STEP"   rank RANK's forward passes return NaN log-probs during optimizer step STEP
//                                     (1-based), as a rank with a numerical fault would;
//   TANDEM_FAULT_KILL_AT="RANK:STEP"  rank RANK dies by SIGKILL as step STEP starts, as a crashed node would.
// Tests check that every rank stops together with one message and that the last good checkpoint stays intact.
#pragma once
#include <cstdint>

namespace tandem {

bool nan_fault_at(int rank, int64_t step);
void die_if_fault_at(int rank, int64_t step);

}  // namespace tandem
