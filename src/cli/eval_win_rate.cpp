// `tandem eval --task win_rate PREF.jsonl --model DIR --judge toy|answers|reward_model ...`: the generation-based
// win rate of a model against a preference file's chosen responses (eval/judge_run.h), with its standard error and
// 95% interval; --out writes the summary.json-shaped "judge" and "win_rate" fields to a file.
#include <cmath>
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/command_table.h"
#include "cli/commands.h"
#include "cli/eval_win_rate.h"
#include "cli/inference_model.h"
#include "core/check.h"
#include "data/text_formats.h"
#include "eval/judge_run.h"
#include "io/atomic_file.h"

namespace tandem {

namespace {
double number_or_nan(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : NAN; }
}  // namespace

int eval_win_rate(const Args& args) {
  JudgeOptions o;
  const std::string model_dir = args.str("model", ""), data = args.positionals()[0];
  o.judge = args.str("judge", "");
  TANDEM_CHECK(!o.judge.empty(), "tandem eval --task win_rate needs --judge toy|answers|reward_model");
  o.model_path = args.str("judge-model", "");
  TANDEM_CHECK(o.judge != "reward_model" || !o.model_path.empty(),
               "--judge reward_model needs --judge-model DIR (the judge's model folder; config key judge_model_path)");
  o.judge_template = args.str("template", o.judge_template);
  o.win_rate_max_examples = args.integer("limit", o.win_rate_max_examples);
  o.max_new_tokens = args.integer("max-new-tokens", o.max_new_tokens);

  const InferenceModel m = load_inference_model(model_dir, args.str("base", ""));
  check_judge_options(o, m.tokenizer.get());
  TextEncoder encoder = m.tokenizer->encoder();
  encoder.vocab_size = m.model->config().vocab_size;
  const std::vector<PreferenceExample> examples = load_preference_dataset(data, &encoder);
  const JudgeReport report = run_judges(*m.model, {}, examples, o, m.tokenizer.get());

  const nlohmann::json& w = report.win_rate;
  std::printf("win rate %.4f (stderr %.4f; 95%% Wilson interval [%.4f, %.4f]) against the chosen responses: n = %lld, "
              "%lld wins, %lld ties, %lld losses\njudge %s: %s\n",
              number_or_nan(w["rate"]), number_or_nan(w["stderr"]), number_or_nan(w["ci95"][0]),
              number_or_nan(w["ci95"][1]), w["n"].get<long long>(), w["wins"].get<long long>(),
              w["ties"].get<long long>(), w["losses"].get<long long>(), o.judge.c_str(),
              w["scoring"].get<std::string>().c_str());
  if (report.judge.is_object())
    std::printf("preference satisfaction %.4f (responses the judge accepts)\n",
                number_or_nan(report.judge["preference_satisfaction"]));
  if (args.has("out")) {
    const nlohmann::json out = {{"model", model_dir}, {"data", data}, {"judge", report.judge}, {"win_rate", w}};
    write_file_atomic(args.str("out", ""), out.dump(2) + "\n");
  }
  return 0;
}

}  // namespace tandem
