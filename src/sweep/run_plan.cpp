#include "sweep/run_plan.h"

#include <cstdio>

namespace tandem {

std::vector<PlannedRun> plan_sweep(const SweepOptions& o) {
  std::vector<PlannedRun> plan;
  for (const auto& seed : o.seeds) {
    plan.push_back({"sft", o.out + "/ideal-sft-seed" + seed, 0.0, seed, true, false});
    plan.push_back({"dpo", o.out + "/ideal-dpo-seed" + seed, 1.0, seed, true, false});
  }
  for (double lambda : o.lambdas)
    for (const auto& method : o.methods)
      for (const auto& seed : o.seeds) {
        char dir[512];
        std::snprintf(dir, sizeof dir, "%s/%s-lambda%g-seed%s", o.out.c_str(), method.c_str(), lambda, seed.c_str());
        plan.push_back({method, dir, lambda, seed, false, method == "maxright"});
      }
  return plan;
}

std::vector<std::string> run_overrides(const SweepOptions& o, const PlannedRun& r, const IdealPoint* ideal) {
  std::vector<std::string> args;
  char buf[64];
  if (r.needs_ideal && ideal) {
    std::snprintf(buf, sizeof buf, "sft_ideal=%.17g", ideal->f_sft);
    args.push_back(buf);
    std::snprintf(buf, sizeof buf, "dpo_ideal=%.17g", ideal->f_dpo);
    args.push_back(buf);
    args.push_back("maxright_ideal=\"given\"");
  }
  args.insert(args.end(), o.overrides.begin(), o.overrides.end());
  args.push_back("strategy=\"" + r.method + "\"");
  std::snprintf(buf, sizeof buf, "lambda=%.17g", r.lambda);
  if (!r.ideal_run) args.push_back(buf);
  args.push_back("seed=" + r.seed);
  args.push_back("output_dir=\"" + r.dir + "\"");
  args.push_back("progress=false");
  return args;
}

}  // namespace tandem
