// A sweep's results over seeds: per method and lambda the mean +- std of the final f_SFT and f_DPO, the ideal
// distance and its normalised form, and the runs' own timings; printed as a table and written as summary.json
// (with the sweep's metadata and the controlled cost measurement) and runs.jsonl (one line per run).
#pragma once
#include <nlohmann/json.hpp>

#include "sweep/sweep_options.h"
#include "sweep/sweep_runs.h"

namespace tandem {

// The "rows" of summary.json, one per method and lambda, and the runs.jsonl lines of the method runs.
struct Aggregates {
  nlohmann::json rows = nlohmann::json::array();
  std::string runs_jsonl;
};
Aggregates aggregate_runs(const SweepOptions& o, const SweepRuns& runs);

// The ideal point MAXRIGHT used, from its runs' summaries: {"source", "f_sft", "f_dpo"} (values null where the
// runs differ, as with running_min), or null without MAXRIGHT runs.
nlohmann::json maxright_ideal_used(const SweepRuns& runs);

// summary.json: ideal, rows, testbed, eval_data, jobs, maxright_ideal, cost (null when not measured).
nlohmann::json sweep_summary(const SweepOptions& o, const SweepRuns& runs, const Aggregates& a,
                             const nlohmann::json& cost);

void print_results_table(const SweepOptions& o, const SweepRuns& runs, const Aggregates& a);

}  // namespace tandem
