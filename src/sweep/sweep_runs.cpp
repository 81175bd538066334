#include "sweep/sweep_runs.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "core/check.h"
#include "core/progress.h"
#include "eval/metrics.h"
#include "io/json_file.h"
#include "sweep/child_pool.h"

namespace tandem {

namespace fs = std::filesystem;

namespace {

nlohmann::json initial_eval(const std::string& dir) {
  std::ifstream in(dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("eval") && j.value("step", int64_t(-1)) == 0) return j;
  }
  return {};
}

double final_value(const FinishedRun& r, const char* key) {
  const auto& f = r.summary.at("final");
  return f.contains(key) && f[key].is_number() ? f[key].get<double>() : std::nan("");
}

// The line of a run's log that says why it stopped: the last "error:" line (tandem's own failures end with one
// and a usage hint after it), else the last non-empty line (a crash's message).
std::string failure_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last, error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.find("error:") != std::string::npos) error = line;
  }
  return error.empty() ? last : error;
}

}  // namespace

IdealPoint ideal_point(const std::vector<FinishedRun>& ideal_runs) {
  std::vector<double> sft, dpo;
  for (const auto& r : ideal_runs) {
    const bool is_sft = r.run.method == "sft";
    (is_sft ? sft : dpo).push_back(final_value(r, is_sft ? "f_sft" : "f_dpo"));
  }
  return {mean_std(sft).mean, mean_std(dpo).mean, int(sft.size())};
}

SweepRuns run_sweep(const SweepOptions& o, const std::vector<PlannedRun>& plan) {
  std::vector<std::optional<FinishedRun>> done(plan.size());
  std::vector<bool> started(plan.size(), false);
  size_t finished = 0, ideal_total = 0, ideal_finished = 0;
  for (const auto& r : plan) ideal_total += r.ideal_run;
  std::optional<IdealPoint> ideal;
  ProgressBar bar("sweep", int64_t(plan.size()));

  auto finish = [&](size_t i) {
    done[i] = FinishedRun{plan[i], read_json_file(plan[i].dir + "/summary.json"), initial_eval(plan[i].dir)};
    ++finished;
    if (plan[i].ideal_run && ++ideal_finished == ideal_total) {
      std::vector<FinishedRun> ideal_runs;
      for (size_t k = 0; k < plan.size(); ++k)
        if (plan[k].ideal_run) ideal_runs.push_back(*done[k]);
      ideal = ideal_point(ideal_runs);
    }
    bar.update(int64_t(finished), 0, plan[i].method);
  };
  if (ideal_total == 0) ideal = IdealPoint{};

  ChildPool pool(o.executable, threads_per_job(o.jobs));
  std::map<pid_t, size_t> running;
  std::string failure;
  size_t next = 0;  // runs before it have all been started (or found finished)
  while (finished < plan.size()) {
    // Start what may start, in plan order: MAXRIGHT waits for the ideal point.
    for (size_t i = next; failure.empty() && i < plan.size() && running.size() < size_t(std::max(1, o.jobs)); ++i) {
      if (started[i] || (plan[i].needs_ideal && !ideal)) continue;
      started[i] = true;
      if (fs::exists(plan[i].dir + "/summary.json")) {
        finish(i);
        continue;
      }
      fs::create_directories(plan[i].dir);
      std::vector<std::string> args = {"train", o.config};
      for (auto& a : run_overrides(o, plan[i], ideal ? &*ideal : nullptr)) args.push_back(a);
      running[pool.start(args, plan[i].dir + "/train.log")] = i;
    }
    while (next < plan.size() && started[next]) ++next;
    if (running.empty()) break;  // only after a failure: nothing left that may start
    const ChildPool::Exit e = pool.wait_any();
    const size_t i = running.at(e.pid);
    running.erase(e.pid);
    if (e.ok) {
      finish(i);
    } else if (failure.empty()) {
      const std::string log = plan[i].dir + "/train.log";
      failure = "sweep: run " + plan[i].dir + " failed (" + e.how + "); see " + log + ": " + failure_line(log);
      if (!running.empty())
        std::fprintf(stderr, "\n%s\nsweep: waiting for the %zu runs still running to finish (their results stay)\n",
                     failure.c_str(), running.size());
    }
  }
  TANDEM_CHECK(failure.empty(), failure, "\nFinished runs are kept; rerunning the same command skips them.");
  TANDEM_CHECK(finished == plan.size(), "sweep: ", plan.size() - finished, " runs could not start");
  SweepRuns out;
  out.ideal = *ideal;
  for (auto& d : done) out.runs.push_back(std::move(*d));
  return out;
}

}  // namespace tandem
