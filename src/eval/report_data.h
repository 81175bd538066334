// What a report reads, as plain structs: a sweep folder (summary.json + runs.jsonl + each run's metrics.jsonl) or a
// single `tandem train` run folder (summary.json with "final" + metrics.jsonl). Optional fields of the shared
// formats (eval_data, testbed, cost, judge, win_rate, multiple_choice) stay JSON: a field that is absent or null
// means the sweep did not have that feature, and the report shows nothing for it.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/metrics.h"

namespace tandem {

struct EvalPoint {
  int64_t step = 0;
  double f_sft = 0, f_dpo = 0;  // NaN where the line had no such loss
};

struct RunData {
  std::string method, dir;
  double lambda = 0;
  nlohmann::json summary;  // the run's line in runs.jsonl (sweep) or its summary.json (single run)
  std::vector<EvalPoint> evals;
};

struct SweepData {
  std::string dir;
  nlohmann::json summary;
  std::vector<RunData> runs;
  std::vector<double> lambdas;       // in the order of the first run at each
  std::vector<std::string> methods;  // likewise
  double ideal_sft = 0, ideal_dpo = 0;
};

enum class ReportSource { sweep, run };

// Which kind of folder `dir` is; an error saying what was expected when it is neither.
ReportSource detect_report_source(const std::string& dir);
SweepData read_sweep(const std::string& dir);
RunData read_run(const std::string& dir);
// The evaluation lines ("eval": true) of a metrics.jsonl, in file order; none when the file is absent.
std::vector<EvalPoint> read_eval_points(const std::string& metrics_path);

// A number at a path of keys, NaN when any key is absent or the value is not a number.
double number_at(const nlohmann::json& j, std::initializer_list<const char*> path);

// A string (or a true bool) at a key, else the default: the optional fields are read without trusting their type.
std::string text_at(const nlohmann::json& j, const char* key, const std::string& otherwise);
bool flag_at(const nlohmann::json& j, const char* key);

// What the losses were measured on: the sweep's "eval_data", else its first run's, else null.
const nlohmann::json& sweep_eval_data(const SweepData& sweep);

// The runs of one method at one lambda.
std::vector<const RunData*> runs_of(const SweepData& s, const std::string& method, double lambda);
// Mean +- std over those runs of a per-run number (NaN values are skipped; n counts the rest).
MeanStd over_runs(const std::vector<const RunData*>& runs, const std::function<double(const RunData&)>& value);

// The mean +- std over seeds of one loss at each evaluation step every run has.
struct MeanCurve {
  std::vector<int64_t> steps;
  std::vector<double> mean, std;
};
MeanCurve mean_curve(const std::vector<const RunData*>& runs, double EvalPoint::*loss);

}  // namespace tandem
