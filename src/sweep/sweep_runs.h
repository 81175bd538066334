// Runs a sweep's planned training runs, up to `jobs` side by side: the ideal (single-objective) runs finish before
// any MAXRIGHT run starts, since MAXRIGHT is given their mean; other runs start as slots free up. Finished runs
// (with a summary.json) are read, not rerun. A failing run stops the sweep: no new run starts, those running are
// left to finish (their results stay for a rerun), then the error names the run's folder and train.log.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

#include "sweep/run_plan.h"
#include "sweep/sweep_options.h"

namespace tandem {

struct FinishedRun {
  PlannedRun run;
  nlohmann::json summary;  // its summary.json
  nlohmann::json initial;  // its step-0 evaluation line of metrics.jsonl
};

struct SweepRuns {
  IdealPoint ideal;
  std::vector<FinishedRun> runs;  // in plan order, the ideal runs included
};

SweepRuns run_sweep(const SweepOptions& o, const std::vector<PlannedRun>& plan);

// The mean of the SFT runs' final f_SFT and the DPO runs' final f_DPO.
IdealPoint ideal_point(const std::vector<FinishedRun>& ideal_runs);

}  // namespace tandem
