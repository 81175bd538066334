// `tandem eval`, two forms:
//   tandem eval CONFIG.toml [--checkpoint DIR] [key=value ...]
//     f_SFT / f_DPO of a checkpoint, scored against the reference log-probs of the config's model (the model the
//     run started from), so f_DPO means the same as during training.
//   tandem eval --task TASK FILE --model DIR [options]
//     a benchmark task on a model folder or checkpoint; the table below lists the tasks and the options each takes.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command_table.h"
#include "cli/commands.h"
#include "cli/eval_win_rate.h"
#include "cli/inference_model.h"
#include "core/check.h"
#include "eval/multiple_choice.h"
#include "io/atomic_file.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace tandem {

namespace {

int eval_config(int argc, char** argv) {
  // --checkpoint DIR may appear anywhere after CONFIG.toml; everything else is a key=value override.
  std::string checkpoint;
  std::vector<std::string> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--checkpoint") {
      TANDEM_CHECK(i + 1 < argc, "--checkpoint needs a folder");
      checkpoint = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  TANDEM_CHECK(!rest.empty(), "usage: ", find_command("eval")->usage);
  TrainConfig cfg = TrainConfig::from_toml_file(rest[0], std::vector<std::string>(rest.begin() + 1, rest.end()));
  cfg.output_dir += "/eval";  // evaluation never touches the training run's log
  Trainer trainer(cfg);       // reference log-probs come from the config's (initial) model
  if (!checkpoint.empty()) load_model_state(checkpoint, trainer.model());
  std::printf("%s\n", trainer.evaluate().to_json().dump().c_str());
  return 0;
}

std::string plus_minus(double value, double stderr_) {
  if (!std::isfinite(value)) return "n/a";
  char s[64];
  if (std::isfinite(stderr_))
    std::snprintf(s, sizeof s, "%.4f +- %.4f", value, stderr_);
  else
    std::snprintf(s, sizeof s, "%.4f", value);
  return s;
}

int eval_multiple_choice(const Args& args) {
  const std::string& file = args.positionals()[0];
  const InferenceModel m = load_inference_model(args.str("model", ""), args.str("base", ""), /*require_tokenizer=*/false);
  MultipleChoiceOptions o;
  o.style = parse_prompt_style(args.str("prompt-style", "cloze"));
  o.add_special_tokens = args.has("add-bos-token");
  o.limit = args.integer("limit", 0);
  o.vocab_size = m.model->config().vocab_size;
  TANDEM_CHECK(o.limit >= 0, "--limit must be >= 0, got ", o.limit);
  const auto items = load_multiple_choice(file, m.tokenizer ? &m.tokenizer->tokenizer : nullptr, o);
  const MultipleChoiceResult r = score_multiple_choice(*m.model, items, args.integer("batch-size", 16));
  std::printf("multiple_choice %s: n %lld\n  acc      %s\n  acc_norm %s%s\n", file.c_str(),
              static_cast<long long>(r.n), plus_minus(r.acc, r.acc_stderr).c_str(),
              plus_minus(r.acc_norm, r.acc_norm_stderr).c_str(),
              std::isfinite(r.acc_norm) ? "" : " (pre-tokenized items without choice texts have no byte lengths)");
  if (args.has("out")) write_file_atomic(args.str("out", ""), r.full_json(file, items).dump(2) + "\n");
  return 0;
}

// The benchmark tasks: name, the options besides --task and --model, and what runs it.
struct EvalTask {
  const char* name;
  std::set<std::string> options, flags;
  int (*run)(const Args& args);
};

const std::vector<EvalTask>& eval_tasks() {
  static const std::vector<EvalTask> tasks = {
      {"multiple_choice", {"prompt-style", "limit", "out", "batch-size", "base"}, {"add-bos-token"},
       eval_multiple_choice},
      {"win_rate", {"judge", "judge-model", "template", "limit", "max-new-tokens", "out", "base"}, {}, eval_win_rate},
  };
  return tasks;
}

int eval_task(const std::string& name, int argc, char** argv) {
  for (const EvalTask& t : eval_tasks()) {
    if (name != t.name) continue;
    std::set<std::string> options = t.options;
    options.insert({"task", "model"});
    const Args args(ArgSpec{.usage = find_command("eval")->usage, .options = options, .flags = t.flags,
                            .positionals = {"FILE"}}, argc, argv);
    TANDEM_CHECK(args.has("model"), "tandem eval --task ", name, " needs --model DIR");
    return t.run(args);
  }
  std::string known;
  for (const EvalTask& t : eval_tasks()) known += std::string(known.empty() ? "" : ", ") + t.name;
  fail("tandem eval: unknown task '", name, "' (tasks: ", known, ")");
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  for (int i = 0; i < argc; ++i)
    if (!std::strcmp(argv[i], "--task")) {
      TANDEM_CHECK(i + 1 < argc, "--task needs a name");
      return eval_task(argv[i + 1], argc, argv);
    }
  return eval_config(argc, argv);
}

}  // namespace tandem
