#include "eval/report_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/check.h"
#include "io/json_file.h"

namespace tandem {

namespace fs = std::filesystem;

double number_at(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* at = &j;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return std::nan("");
    at = &(*at)[key];
  }
  return at->is_number() ? at->get<double>() : std::nan("");
}

std::string text_at(const nlohmann::json& j, const char* key, const std::string& otherwise) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : otherwise;
}

bool flag_at(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

std::vector<EvalPoint> read_eval_points(const std::string& metrics_path) {
  std::vector<EvalPoint> points;
  std::ifstream in(metrics_path);
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    const auto j = parse_json(line, metrics_path + ":" + std::to_string(line_no));
    if (!j.is_object() || !j.contains("eval") || !j.contains("step")) continue;
    TANDEM_CHECK(j["step"].is_number_integer(), metrics_path, ":", line_no, ": eval line's \"step\" is not an integer");
    points.push_back({j["step"].get<int64_t>(), number_at(j, {"f_sft"}), number_at(j, {"f_dpo"})});
  }
  return points;
}

ReportSource detect_report_source(const std::string& dir) {
  if (fs::exists(dir + "/runs.jsonl") && fs::exists(dir + "/summary.json")) return ReportSource::sweep;
  if (fs::exists(dir + "/summary.json") && read_json_file(dir + "/summary.json").contains("final"))
    return ReportSource::run;
  fail("report: ", dir, " is neither a sweep folder (summary.json and runs.jsonl, from tandem sweep) nor a run folder ",
       "(summary.json with \"final\", from tandem train)");
}

namespace {
// runs.jsonl names each run's folder as the sweep was given it; a sweep folder that was moved (or a relative path
// read from another working directory) still finds its runs beside runs.jsonl.
std::string locate_run_dir(const std::string& sweep_dir, const std::string& dir) {
  if (fs::exists(dir + "/summary.json") || fs::exists(dir + "/metrics.jsonl")) return dir;
  const std::string beside = sweep_dir + "/" + fs::path(dir).filename().string();
  return fs::exists(beside) ? beside : dir;
}
}  // namespace

SweepData read_sweep(const std::string& dir) {
  SweepData s;
  s.dir = dir;
  s.summary = read_json_file(dir + "/summary.json");
  s.ideal_sft = number_at(s.summary, {"ideal", "f_sft"});
  s.ideal_dpo = number_at(s.summary, {"ideal", "f_dpo"});
  TANDEM_CHECK(std::isfinite(s.ideal_sft) && std::isfinite(s.ideal_dpo), dir,
               "/summary.json: \"ideal\" needs numbers \"f_sft\" and \"f_dpo\"");
  const std::string path = dir + "/runs.jsonl";
  std::ifstream in(path);
  TANDEM_CHECK(in, path, ": cannot open (run tandem sweep first)");
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const auto j = parse_json(line, where);
    TANDEM_CHECK(j.is_object() && j.contains("method") && j["method"].is_string(), where, ": no \"method\"");
    TANDEM_CHECK(j.contains("lambda") && j["lambda"].is_number(), where, ": no number \"lambda\"");
    TANDEM_CHECK(j.contains("dir") && j["dir"].is_string(), where, ": no \"dir\"");
    RunData r{j["method"], locate_run_dir(dir, j["dir"]), j["lambda"].get<double>(), j, {}};
    r.evals = read_eval_points(r.dir + "/metrics.jsonl");
    if (std::find(s.lambdas.begin(), s.lambdas.end(), r.lambda) == s.lambdas.end()) s.lambdas.push_back(r.lambda);
    if (std::find(s.methods.begin(), s.methods.end(), r.method) == s.methods.end()) s.methods.push_back(r.method);
    s.runs.push_back(std::move(r));
  }
  TANDEM_CHECK(!s.runs.empty(), path, ": no runs");
  std::sort(s.lambdas.begin(), s.lambdas.end());
  return s;
}

RunData read_run(const std::string& dir) {
  RunData r;
  r.dir = dir;
  r.summary = read_json_file(dir + "/summary.json");
  TANDEM_CHECK(r.summary.contains("final"), dir, "/summary.json: no \"final\" (is this a tandem train folder?)");
  r.method = r.summary.contains("strategy") && r.summary["strategy"].is_string() ? r.summary["strategy"].get<std::string>()
                                                                                  : "run";
  r.lambda = number_at(r.summary, {"lambda"});
  r.evals = read_eval_points(dir + "/metrics.jsonl");
  return r;
}

const nlohmann::json& sweep_eval_data(const SweepData& s) {
  static const nlohmann::json none;
  if (s.summary.contains("eval_data")) return s.summary["eval_data"];
  return !s.runs.empty() && s.runs.front().summary.contains("eval_data") ? s.runs.front().summary["eval_data"] : none;
}

std::vector<const RunData*> runs_of(const SweepData& s, const std::string& method, double lambda) {
  std::vector<const RunData*> out;
  for (const auto& r : s.runs)
    if (r.method == method && r.lambda == lambda) out.push_back(&r);
  return out;
}

MeanStd over_runs(const std::vector<const RunData*>& runs, const std::function<double(const RunData&)>& value) {
  std::vector<double> v;
  for (const RunData* r : runs) {
    const double x = value(*r);
    if (std::isfinite(x)) v.push_back(x);
  }
  return mean_std(v);
}

MeanCurve mean_curve(const std::vector<const RunData*>& runs, double EvalPoint::*loss) {
  std::map<int64_t, std::vector<double>> at_step;
  for (const RunData* r : runs)
    for (const auto& p : r->evals)
      if (std::isfinite(p.*loss)) at_step[p.step].push_back(p.*loss);
  MeanCurve c;
  for (const auto& [step, values] : at_step) {
    if (values.size() != runs.size()) continue;  // a step some seed did not evaluate (or logged twice)
    const MeanStd m = mean_std(values);
    c.steps.push_back(step);
    c.mean.push_back(m.mean);
    c.std.push_back(m.std);
  }
  return c;
}

}  // namespace tandem
