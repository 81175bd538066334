// `tandem demo`: the forgetting testbed end to end. Writes the toy task, pretrains its base model (cached across
// runs), sweeps Sequential, Mix, ALRIGHT and MAXRIGHT over lambdas and seeds from that base with the exact judges,
// and writes report.html (`tandem report`, cmd_report.cpp, writes the report of any sweep or run).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/demo_base.h"
#include "cli/demo_words.h"
#include "core/check.h"
#include "data/toy_task.h"
#include "eval/report.h"
#include "io/atomic_file.h"

namespace tandem {

namespace fs = std::filesystem;

namespace {
// Steps per cost-measurement run: enough for a stable per-step median on the toy model while the whole cost phase
// (3 lambdas x 4 methods x 3 rounds, one process at a time) stays a small part of the demo.
const char* kDemoCostSteps = "20";

// The pretrained toy base, trained once and reused (its folder is a plain Hugging Face model).
std::string cached_base(const std::string& task_dir, const std::string& cache_dir, const std::string& arch) {
  return cached_pretrained_base(task_dir + "/pretrain.toml",
                                cache_dir + "/toy-base-v1" + (arch == "llama" ? "" : "-" + arch));
}
}  // namespace

int cmd_demo(int argc, char** argv) {
  std::string out = "runs/demo", cache = "runs/cache", lambdas = "0.25,0.5,0.75", seeds = "0,1,2", testbed = "toy",
              methods, jobs = std::to_string(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  ToyTaskOptions task;
  WordsTestbedOptions words;  // --words, --pretrain-steps and --steps shrink it (tests)
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    TANDEM_CHECK(i + 1 < argc,
                 "usage: tandem demo [--testbed toy|words] [--out DIR] [--cache DIR] [--lambdas LIST] [--seeds LIST] "
                 "[--arch MODEL_TYPE] [--words N] [--pretrain-steps N] [--steps N] [--methods LIST] "
                 "[--eval-words training|held_out] [--jobs N]");
    if (a == "--out") out = argv[++i];
    else if (a == "--arch") task.model_type = argv[++i];
    else if (a == "--cache") cache = argv[++i];
    else if (a == "--lambdas") lambdas = argv[++i];
    else if (a == "--seeds") seeds = argv[++i];
    else if (a == "--testbed") testbed = argv[++i];
    else if (a == "--methods") methods = argv[++i];
    else if (a == "--words") words.words = std::stoll(argv[++i]);
    else if (a == "--pretrain-steps") words.pretrain_steps = std::stoll(argv[++i]);
    else if (a == "--steps") words.steps = std::stoll(argv[++i]);
    else if (a == "--eval-words") words.eval_words = argv[++i];
    else if (a == "--jobs") jobs = argv[++i];
    else fail("demo: unknown option ", a);
  }
  TANDEM_CHECK(testbed == "toy" || testbed == "words", "demo: --testbed must be toy or words, got ", testbed);
  TANDEM_CHECK(testbed == "words" || methods.empty(), "demo: --methods applies to the words testbed only");
  if (testbed == "words") {
    TANDEM_CHECK(task.model_type == "llama", "demo: --arch applies to the toy testbed only");
    return run_words_demo({out, cache, lambdas, seeds, methods, jobs}, words);
  }
  fs::remove_all(out + "/sweep");
  write_toy_task(out + "/task", task);
  const std::string base = fs::absolute(cached_base(out + "/task", cache, task.model_type)).string();
  std::vector<std::string> args = {out + "/task/train.toml", "--lambdas", lambdas, "--seeds", seeds, "--out",
                                   out + "/sweep", "model_config=\"\"", "model_name_or_path=\"" + base + "\"",
                                   "judge=\"toy\"", "eval_steps=20", "--testbed", "toy", "--jobs", jobs,
                                   // The costs beside the results: 3 interleaved rounds, short runs (kDemoCostSteps)
                                   "--cost-repeats", "3", "--cost-steps", kDemoCostSteps};
  std::vector<char*> argv_sweep;
  for (auto& s : args) argv_sweep.push_back(s.data());
  const int rc = cmd_sweep(int(argv_sweep.size()), argv_sweep.data());
  if (rc != 0) return rc;
  write_file_atomic(out + "/report.html", sweep_report_html(out + "/sweep"));
  std::printf("wrote %s/report.html\n", out.c_str());
  return 0;
}

}  // namespace tandem
