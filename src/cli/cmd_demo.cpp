// `tandem demo`: the forgetting testbed end to end. Writes the toy task, pretrains its base model (cached across
// runs), sweeps Sequential, Mix, ALRIGHT and MAXRIGHT over lambdas and seeds from that base with the exact judges,
// and writes report.html. `tandem report SWEEP_DIR [--out FILE]` writes the report of any sweep.
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
const char* kReportTitle = "Tandem: joint SFT + preference training on the reverse-vs-copy testbed";

// The pretrained toy base, trained once and reused (its folder is a plain Hugging Face model).
std::string cached_base(const std::string& task_dir, const std::string& cache_dir, const std::string& arch) {
  return cached_pretrained_base(task_dir + "/pretrain.toml",
                                cache_dir + "/toy-base-v1" + (arch == "llama" ? "" : "-" + arch));
}
}  // namespace

int cmd_report(int argc, char** argv) {
  TANDEM_CHECK(argc == 1 || (argc == 3 && std::string(argv[1]) == "--out"), "usage: tandem report SWEEP_DIR [--out FILE]");
  const std::string out = argc == 3 ? argv[2] : std::string(argv[0]) + "/report.html";
  write_file_atomic(out, sweep_report_html(argv[0], kReportTitle));
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

int cmd_demo(int argc, char** argv) {
  std::string out = "runs/demo", cache = "runs/cache", lambdas = "0.25,0.5,0.75", seeds = "0,1,2", testbed = "toy",
              methods;
  ToyTaskOptions task;
  WordsTestbedOptions words;  // --words, --pretrain-steps and --steps shrink it (tests)
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    TANDEM_CHECK(i + 1 < argc,
                 "usage: tandem demo [--testbed toy|words] [--out DIR] [--cache DIR] [--lambdas LIST] [--seeds LIST] "
                 "[--arch MODEL_TYPE] [--words N] [--pretrain-steps N] [--steps N] [--methods LIST] "
                 "[--eval-words training|held_out]");
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
    else fail("demo: unknown option ", a);
  }
  TANDEM_CHECK(testbed == "toy" || testbed == "words", "demo: --testbed must be toy or words, got ", testbed);
  TANDEM_CHECK(testbed == "words" || methods.empty(), "demo: --methods applies to the words testbed only");
  if (testbed == "words") {
    TANDEM_CHECK(task.model_type == "llama", "demo: --arch applies to the toy testbed only");
    return run_words_demo({out, cache, lambdas, seeds, methods}, words);
  }
  fs::remove_all(out + "/sweep");
  write_toy_task(out + "/task", task);
  const std::string base = fs::absolute(cached_base(out + "/task", cache, task.model_type)).string();
  std::vector<std::string> args = {out + "/task/train.toml", "--lambdas", lambdas, "--seeds", seeds, "--out",
                                   out + "/sweep", "model_config=\"\"", "model_name_or_path=\"" + base + "\"",
                                   "judge=\"toy\"", "eval_steps=20"};
  std::vector<char*> argv_sweep;
  for (auto& s : args) argv_sweep.push_back(s.data());
  const int rc = cmd_sweep(int(argv_sweep.size()), argv_sweep.data());
  if (rc != 0) return rc;
  write_file_atomic(out + "/report.html", sweep_report_html(out + "/sweep", kReportTitle));
  std::printf("wrote %s/report.html\n", out.c_str());
  return 0;
}

}  // namespace tandem
