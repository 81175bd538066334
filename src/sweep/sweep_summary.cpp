#include "sweep/sweep_summary.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "eval/metrics.h"

namespace tandem {

namespace {

double get(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

nlohmann::json mean_and_std(const std::vector<double>& v) {
  const MeanStd m = mean_std(v);
  return {m.mean, m.std};
}

std::string fmt(const nlohmann::json& mean_std_pair) {
  char s[64];
  std::snprintf(s, sizeof s, "%.4f +- %.4f", mean_std_pair[0].get<double>(), mean_std_pair[1].get<double>());
  return s;
}

}  // namespace

Aggregates aggregate_runs(const SweepOptions& o, const SweepRuns& runs) {
  Aggregates a;
  const IdealPoint& ideal = runs.ideal;
  std::map<double, std::pair<double, double>> sequential;  // lambda -> (s/step, peak MiB) means
  for (double lambda : o.lambdas)
    for (const auto& method : o.methods) {
      std::vector<double> f_sft, f_dpo, dist, ndist, secs, mem;
      for (const auto& r : runs.runs) {
        if (r.run.ideal_run || r.run.method != method || r.run.lambda != lambda) continue;
        const double s = get(r.summary["final"], "f_sft"), d = get(r.summary["final"], "f_dpo");
        f_sft.push_back(s);
        f_dpo.push_back(d);
        dist.push_back(ideal_distance(s, d, ideal.f_sft, ideal.f_dpo));
        ndist.push_back(normalised_ideal_distance(s, d, ideal.f_sft, ideal.f_dpo, get(r.initial, "f_sft"),
                                                  get(r.initial, "f_dpo")));
        secs.push_back(get(r.summary, "seconds_per_step"));
        mem.push_back(get(r.summary, "peak_memory_mib"));
        nlohmann::json line = r.summary;
        line["method"] = method;
        line["ideal_distance"] = dist.back();
        line["normalised_ideal_distance"] = ndist.back();
        line["initial"] = r.initial;
        line["dir"] = r.run.dir;
        a.runs_jsonl += line.dump() + "\n";
      }
      const double t = mean_std(secs).mean, m = mean_std(mem).mean;
      if (method == "sequential") sequential[lambda] = {t, m};
      nlohmann::json row = {{"method", method},
                            {"lambda", lambda},
                            {"f_sft", mean_and_std(f_sft)},
                            {"f_dpo", mean_and_std(f_dpo)},
                            {"ideal_distance", mean_and_std(dist)},
                            {"normalised_ideal_distance", mean_and_std(ndist)},
                            {"seconds_per_step", t},
                            {"peak_memory_mib", m},
                            {"seeds", f_sft.size()}};
      if (sequential.count(lambda)) {  // the runs' own timings, taken side by side: see "cost" for a controlled one
        row["time_vs_sequential_pct"] = 100.0 * (t / sequential[lambda].first - 1.0);
        row["memory_vs_sequential_pct"] = 100.0 * (m / sequential[lambda].second - 1.0);
      }
      a.rows.push_back(row);
    }
  return a;
}

nlohmann::json maxright_ideal_used(const SweepRuns& runs) {
  nlohmann::json used = nullptr;
  for (const auto& r : runs.runs) {
    if (r.run.ideal_run || !r.summary.contains("maxright_ideal")) continue;
    const nlohmann::json& m = r.summary["maxright_ideal"];
    if (used.is_null()) {
      used = m;
      continue;
    }
    if (used["source"] != m["source"]) used["source"] = "mixed";
    for (const char* key : {"f_sft", "f_dpo"})
      if (used[key] != m[key]) used[key] = nullptr;
  }
  return used;
}

nlohmann::json sweep_summary(const SweepOptions& o, const SweepRuns& runs, const Aggregates& a,
                             const nlohmann::json& cost) {
  nlohmann::json eval_data = {{"sft", nullptr}, {"preference", nullptr}};
  for (const auto& r : runs.runs)
    if (!r.run.ideal_run && r.summary.contains("eval_data")) {
      eval_data = r.summary["eval_data"];
      break;
    }
  return {{"ideal", {{"f_sft", runs.ideal.f_sft},
                     {"f_dpo", runs.ideal.f_dpo},
                     {"source", "single-objective runs"},
                     {"seeds", runs.ideal.seeds}}},
          {"rows", a.rows},
          {"testbed", o.testbed.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.testbed)},
          {"eval_data", eval_data},
          {"jobs", o.jobs},
          {"maxright_ideal", maxright_ideal_used(runs)},
          {"cost", cost}};
}

void print_results_table(const SweepOptions& o, const SweepRuns& runs, const Aggregates& a) {
  std::printf("\nideal point: f*_SFT = %.4f, f*_DPO = %.4f (single-objective runs, %d seeds)\n", runs.ideal.f_sft,
              runs.ideal.f_dpo, runs.ideal.seeds);
  const nlohmann::json used = maxright_ideal_used(runs);
  if (!used.is_null()) {
    const std::string source = used["source"].get<std::string>();
    std::printf("MAXRIGHT's ideal point: %s", source.c_str());
    if (used["f_sft"].is_number() && used["f_dpo"].is_number())
      std::printf(" (%.4f, %.4f)", used["f_sft"].get<double>(), used["f_dpo"].get<double>());
    std::printf("%s\n", source == "given" ? ", the single-objective runs' mean"
                        : source == "running_min" ? ", the running minimum of each loss (per run in runs.jsonl)"
                        : source == "zero" ? ", zero (no ideal given)" : "");
  }
  std::printf("%-10s %6s | %-18s %-18s | %-18s %-18s | %9s %8s\n", "method", "lambda", "f_SFT", "f_DPO",
              "ideal dist", "normalised", "s/step", "peak MiB");
  for (const auto& row : a.rows)
    std::printf("%-10s %6.2f | %-18s %-18s | %-18s %-18s | %9.4f %8.1f\n",
                row["method"].get<std::string>().c_str(), row["lambda"].get<double>(), fmt(row["f_sft"]).c_str(),
                fmt(row["f_dpo"]).c_str(), fmt(row["ideal_distance"]).c_str(),
                fmt(row["normalised_ideal_distance"]).c_str(), row["seconds_per_step"].get<double>(),
                row["peak_memory_mib"].get<double>());
  if (o.jobs > 1)
    std::printf("(s/step and peak MiB above come from runs taken %d side by side; see the cost measurement for a "
                "controlled one)\n", o.jobs);
}

}  // namespace tandem
