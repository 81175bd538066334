// The controlled cost measurement of `tandem sweep --cost-repeats R`: after the training runs, for every lambda,
// each method trains for S steps with evaluation, judges and checkpoint saving off, one process at a time (never
// beside another run), in R interleaved rounds whose method order rotates, so no method always goes first and
// slow spells of the machine fall on every method. Per method: seconds per step (training steps only, as the
// trainer measures them) and peak memory, with their spread, and each relative to Sequential (paired by round).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sweep/run_plan.h"
#include "sweep/sweep_options.h"

namespace tandem {

// The methods of round r, rotated left by r.
std::vector<std::string> round_order(const std::vector<std::string>& methods, int round);

// One method's samples at one lambda, index = round.
struct CostSamples {
  std::string method;
  double lambda = 0;
  std::vector<double> seconds_per_step, peak_memory_mib;
};

// The "cost" object of summary.json from measured samples (exact shape in README "Sweeps").
nlohmann::json cost_summary(const std::vector<CostSamples>& samples, int steps, int repeats);

// Runs the measurement (in <out>/cost/, remeasured on every invocation) and returns cost_summary's object.
nlohmann::json measure_costs(const SweepOptions& o, const IdealPoint& ideal);

void print_cost_table(const nlohmann::json& cost);

}  // namespace tandem
