// What `tandem sweep` was asked to do (parsed by cli/cmd_sweep.cpp, used by every piece in src/sweep/).
#pragma once
#include <string>
#include <vector>

namespace tandem {

struct SweepOptions {
  std::string config;                 // the base train.toml
  std::string out = "runs/sweep";
  std::string executable;             // the `tandem` binary the runs are started with
  std::vector<std::string> methods = {"sequential", "mix", "alright", "maxright"};
  std::vector<double> lambdas = {0.25, 0.5, 0.75};
  std::vector<std::string> seeds = {"0", "1", "2"};
  std::vector<std::string> overrides;  // the user's key=value, passed to every run
  std::string testbed;                 // --testbed NAME, stored verbatim; "" = a user's own data
  int jobs = 1;                        // child processes side by side
  int cost_repeats = 0;                // controlled cost measurement rounds; 0 = off
  int cost_steps = 30;                 // steps of each cost run
};

}  // namespace tandem
