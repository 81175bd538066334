// The runs of a sweep: per seed a single-objective SFT and DPO run (the ideal point), then every method x
// lambda x seed. Each run is a folder under the sweep's out; one with a summary.json is finished.
#pragma once
#include <string>
#include <vector>

#include "sweep/sweep_options.h"

namespace tandem {

struct PlannedRun {
  std::string method;  // sft | dpo for the ideal runs, else the strategy
  std::string dir;
  double lambda = 0;
  std::string seed;
  bool ideal_run = false;    // single-objective: gives the ideal point
  bool needs_ideal = false;  // MAXRIGHT: starts only once the ideal point is known
};

// Ideal runs first (seed by seed), then lambda by lambda, method by method, seed by seed.
std::vector<PlannedRun> plan_sweep(const SweepOptions& o);

// The mean final f_SFT of the SFT runs and f_DPO of the DPO runs, over seeds.
struct IdealPoint {
  double f_sft = 0, f_dpo = 0;
  int seeds = 0;
};

// The key=value overrides of a run's `tandem train`, in order (later ones win): the ideal point (MAXRIGHT), the
// user's overrides (so a user's maxright_ideal = "running_min" wins over the given ideal), then what makes the run
// this run (strategy, lambda, seed, output_dir).
std::vector<std::string> run_overrides(const SweepOptions& o, const PlannedRun& r, const IdealPoint* ideal);

}  // namespace tandem
