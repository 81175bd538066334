#include "sweep/cost_measurement.h"

#include <cstdio>
#include <filesystem>

#include "core/check.h"
#include "io/json_file.h"
#include "sweep/child_pool.h"
#include "sweep/cost_stats.h"

namespace tandem {

namespace fs = std::filesystem;

namespace {

// What turns a training run into a timing run: S steps, no evaluation sets (so the step-0 and final evaluations
// have nothing to score), no intermediate evaluation, no judge, no checkpoint at all, no extra metrics files.
std::vector<std::string> timing_overrides(int steps) {
  return {"max_steps=" + std::to_string(steps), "eval_max_examples=0",
          "sft_eval_dataset=\"\"", "preference_eval_dataset=\"\"", "eval_strategy=\"no\"", "judge=\"\"",
          "save_strategy=\"no\"", "save_final_checkpoint=false", "report_to=\"jsonl\"", "multiple_choice_dataset=\"\""};
}

nlohmann::json spread_json(const std::vector<double>& v) {
  const SampleSpread s = sample_spread(v);
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"samples", s.samples}};
}

nlohmann::json comparison_json(const std::vector<double>& method, const std::vector<double>& sequential) {
  const PairedComparison c = compare_paired(method, sequential);
  return {{"pct", c.pct},
          {"ci95", c.ci95 ? nlohmann::json{c.ci95->first, c.ci95->second} : nlohmann::json(nullptr)},
          {"within_noise", c.within_noise}};
}

double summary_number(const nlohmann::json& s, const char* key, const std::string& file) {
  TANDEM_CHECK(s.contains(key) && s[key].is_number(), file, ": no number '", key, "'");
  return s[key].get<double>();
}

}  // namespace

std::vector<std::string> round_order(const std::vector<std::string>& methods, int round) {
  std::vector<std::string> order;
  const size_t n = methods.size();
  for (size_t i = 0; i < n; ++i) order.push_back(methods[(i + size_t(round)) % n]);
  return order;
}

nlohmann::json cost_summary(const std::vector<CostSamples>& samples, int steps, int repeats) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& s : samples) {
    const CostSamples* sequential = nullptr;
    for (const auto& q : samples)
      if (q.method == "sequential" && q.lambda == s.lambda) sequential = &q;
    nlohmann::json row = {{"method", s.method},
                          {"lambda", s.lambda},
                          {"seconds_per_step", spread_json(s.seconds_per_step)},
                          {"peak_memory_mib", spread_json(s.peak_memory_mib)},
                          {"time_vs_sequential", nullptr},
                          {"memory_vs_sequential", nullptr}};
    if (sequential) {
      row["time_vs_sequential"] = comparison_json(s.seconds_per_step, sequential->seconds_per_step);
      row["memory_vs_sequential"] = comparison_json(s.peak_memory_mib, sequential->peak_memory_mib);
    }
    rows.push_back(row);
  }
  return {{"steps", steps}, {"repeats", repeats}, {"order", "interleaved rounds, one process at a time"},
          {"rows", rows}};
}

nlohmann::json measure_costs(const SweepOptions& o, const IdealPoint& ideal) {
  const std::string root = o.out + "/cost";
  fs::remove_all(root);  // timings from an earlier invocation ran under other conditions: measure afresh
  ChildPool pool(o.executable, threads_per_job(1));  // one process at a time: it may use every core
  std::vector<CostSamples> samples;
  const int total = int(o.lambdas.size() * o.methods.size()) * o.cost_repeats;
  int done = 0;
  for (double lambda : o.lambdas) {
    const size_t first = samples.size();
    for (const auto& m : o.methods) samples.push_back({m, lambda, {}, {}});
    for (int round = 0; round < o.cost_repeats; ++round)
      for (const auto& method : round_order(o.methods, round)) {
        char dir[512];
        std::snprintf(dir, sizeof dir, "%s/%s-lambda%g-round%d", root.c_str(), method.c_str(), lambda, round);
        PlannedRun run{method, dir, lambda, o.seeds[size_t(round) % o.seeds.size()], false, method == "maxright"};
        fs::create_directories(dir);
        std::vector<std::string> args = {"train", o.config};
        SweepOptions timing = o;
        const auto extra = timing_overrides(o.cost_steps);
        timing.overrides.insert(timing.overrides.end(), extra.begin(), extra.end());
        for (auto& a : run_overrides(timing, run, &ideal)) args.push_back(a);
        pool.start(args, std::string(dir) + "/train.log");
        const ChildPool::Exit e = pool.wait_any();
        TANDEM_CHECK(e.ok, "sweep: cost run ", dir, " failed (", e.how, "); see ", dir, "/train.log");
        const std::string file = std::string(dir) + "/summary.json";
        const nlohmann::json s = read_json_file(file);
        for (size_t k = first; k < samples.size(); ++k)
          if (samples[k].method == method) {
            samples[k].seconds_per_step.push_back(summary_number(s, "seconds_per_step", file));
            samples[k].peak_memory_mib.push_back(summary_number(s, "peak_memory_mib", file));
          }
        std::fprintf(stderr, "cost measurement: %d/%d runs\n", ++done, total);
      }
  }
  return cost_summary(samples, o.cost_steps, o.cost_repeats);
}

void print_cost_table(const nlohmann::json& cost) {
  std::printf("\ncontrolled cost: %d steps per run, %d interleaved rounds, one process at a time\n",
              cost["steps"].get<int>(), cost["repeats"].get<int>());
  std::printf("%-10s %6s | %-26s %-22s | %-28s %-28s\n", "method", "lambda", "s/step median [min, max]",
              "peak MiB median", "time vs Sequential [95% CI]", "memory vs Sequential [95% CI]");
  auto versus = [](const nlohmann::json& c) -> std::string {
    if (c.is_null()) return "-";
    char s[96];
    if (c["ci95"].is_null()) {
      std::snprintf(s, sizeof s, "%+.1f%% (no CI, < 3 rounds)", c["pct"].get<double>());
    } else {
      std::snprintf(s, sizeof s, "%+.1f%% [%+.1f, %+.1f]%s", c["pct"].get<double>(), c["ci95"][0].get<double>(),
                    c["ci95"][1].get<double>(), c["within_noise"].get<bool>() ? " noise" : "");
    }
    return s;
  };
  for (const auto& r : cost["rows"]) {
    char t[64], m[48];
    const auto& sps = r["seconds_per_step"];
    const auto& mem = r["peak_memory_mib"];
    std::snprintf(t, sizeof t, "%.4f [%.4f, %.4f]", sps["median"].get<double>(), sps["min"].get<double>(),
                  sps["max"].get<double>());
    std::snprintf(m, sizeof m, "%.1f [%.1f, %.1f]", mem["median"].get<double>(), mem["min"].get<double>(),
                  mem["max"].get<double>());
    const bool reference = r["method"] == "sequential";  // its ratio to itself is 1 by construction
    std::printf("%-10s %6.2f | %-26s %-22s | %-28s %-28s\n", r["method"].get<std::string>().c_str(),
                r["lambda"].get<double>(), t, m, reference ? "reference" : versus(r["time_vs_sequential"]).c_str(),
                reference ? "reference" : versus(r["memory_vs_sequential"]).c_str());
  }
  std::printf("(\"noise\": the 95%% interval of the paired ratio contains 0%%)\n");
}

}  // namespace tandem
