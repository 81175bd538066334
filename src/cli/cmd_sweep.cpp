// `tandem sweep`: argument parsing only. The pieces live in src/sweep/: the run plan (run_plan), the runs side by
// side (sweep_runs, child_pool), the results over seeds (sweep_summary) and the controlled cost measurement
// (cost_measurement, cost_stats).
#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "core/check.h"
#include "io/atomic_file.h"
#include "sweep/cost_measurement.h"
#include "sweep/run_plan.h"
#include "sweep/sweep_runs.h"
#include "sweep/sweep_summary.h"

namespace tandem {

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

int positive_int(const std::string& flag, const std::string& value, int minimum) {
  size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  TANDEM_CHECK(used == value.size() && v >= minimum, "sweep: ", flag, " needs an integer >= ", minimum, ", got '",
               value, "'");
  return v;
}

SweepOptions parse_sweep_args(int argc, char** argv) {
  TANDEM_CHECK(argc >= 1, "usage: tandem sweep CONFIG.toml [--methods LIST] [--lambdas LIST] [--seeds LIST] "
                          "[--out DIR] [--jobs N] [--cost-repeats R] [--cost-steps S] [--testbed NAME] "
                          "[key=value ...]");
  SweepOptions o;
  o.config = argv[0];
  o.executable = "/proc/self/exe";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      TANDEM_CHECK(i + 1 < argc, "sweep: ", a, " needs a value");
      return argv[++i];
    };
    if (a == "--methods") o.methods = split(value());
    else if (a == "--lambdas") {
      o.lambdas.clear();
      for (const auto& l : split(value())) o.lambdas.push_back(std::stod(l));
    } else if (a == "--seeds") o.seeds = split(value());
    else if (a == "--out") o.out = value();
    else if (a == "--jobs") o.jobs = positive_int(a, value(), 1);
    else if (a == "--cost-repeats") o.cost_repeats = positive_int(a, value(), 0);
    else if (a == "--cost-steps") o.cost_steps = positive_int(a, value(), 1);
    else if (a == "--testbed") o.testbed = value();
    else if (a.find('=') != std::string::npos && a.rfind("--", 0) != 0) o.overrides.push_back(a);
    else fail("sweep: unknown argument '", a, "'");
  }
  for (const auto& m : o.methods)
    TANDEM_CHECK(m == "sequential" || m == "mix" || m == "alright" || m == "maxright", "sweep: unknown method '", m,
                 "'");
  TANDEM_CHECK(!o.methods.empty() && !o.lambdas.empty() && !o.seeds.empty(),
               "sweep: --methods, --lambdas and --seeds need at least one value each");
  return o;
}

}  // namespace

int cmd_sweep(int argc, char** argv) {
  const SweepOptions o = parse_sweep_args(argc, argv);
  const SweepRuns runs = run_sweep(o, plan_sweep(o));
  const nlohmann::json cost = o.cost_repeats > 0 ? measure_costs(o, runs.ideal) : nlohmann::json(nullptr);
  const Aggregates a = aggregate_runs(o, runs);
  print_results_table(o, runs, a);
  if (!cost.is_null()) print_cost_table(cost);
  write_file_atomic(o.out + "/runs.jsonl", a.runs_jsonl);
  write_file_atomic(o.out + "/summary.json", sweep_summary(o, runs, a, cost).dump(2) + "\n");
  std::printf("wrote %s/summary.json and %s/runs.jsonl\n", o.out.c_str(), o.out.c_str());
  return 0;
}

}  // namespace tandem
