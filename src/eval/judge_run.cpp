#include "eval/judge_run.h"

#include <algorithm>
#include <filesystem>

#include "core/check.h"
#include "eval/reward_model_judge.h"

namespace tandem {

void check_judge_options(const JudgeOptions& o, const TokenizerDir* policy_tokenizer) {
  if (o.judge.empty()) return;
  TANDEM_CHECK(o.judge == "toy" || o.judge == "answers" || o.judge == "reward_model", "judge: '", o.judge,
               "' is not one of toy, answers, reward_model");
  TANDEM_CHECK(o.win_rate_max_examples > 0, "win_rate_max_examples: must be > 0, got ", o.win_rate_max_examples);
  TANDEM_CHECK(o.max_new_tokens > 0, "judge_max_new_tokens: must be > 0, got ", o.max_new_tokens);
  check_judge_template(o.judge_template, "judge_template");
  if (o.judge == "reward_model")
    TANDEM_CHECK(!o.model_path.empty(), "judge_model_path: judge = \"reward_model\" needs the judge's model folder "
                                        "(a Tandem checkpoint or Hugging Face folder with tokenizer.json)");
  if (o.judge == "reward_model")
    TANDEM_CHECK(std::filesystem::exists(o.model_path + "/config.json"), "judge_model_path: ", o.model_path,
                 " is not a model folder (no config.json)");
  if (o.judge != "toy")
    TANDEM_CHECK(policy_tokenizer, "judge: '", o.judge, "' reads responses as text, but the run has no tokenizer "
                                   "(set tokenizer_name_or_path, or use judge = \"toy\" on the toy task)");
}

std::unique_ptr<ResponseJudge> make_judge(const JudgeOptions& o, const TokenizerDir* policy_tokenizer) {
  check_judge_options(o, policy_tokenizer);
  TANDEM_CHECK(!o.judge.empty(), "judge: no judge named");
  if (o.judge == "toy") return std::make_unique<ToyJudge>();
  if (o.judge == "answers") return std::make_unique<AnswersJudge>(policy_tokenizer->tokenizer);
  return std::make_unique<RewardModelJudge>(o.model_path, o.judge_template, policy_tokenizer->tokenizer);
}

JudgeGeneration judge_generation(const JudgeOptions& o, const TokenizerDir* policy_tokenizer) {
  if (o.judge == "toy") return {ToyJudge::kAnswerTokens, {ToyJudge::kEos}};
  TANDEM_CHECK(policy_tokenizer, "judge: '", o.judge, "' needs the run's tokenizer");
  return {o.max_new_tokens, reply_stop_tokens(*policy_tokenizer)};
}

JudgeReport run_judges(const DecoderModel& policy, const std::vector<SftExample>& sft,
                       const std::vector<PreferenceExample>& preference, const JudgeOptions& o,
                       const TokenizerDir* policy_tokenizer) {
  JudgeReport report;
  if (o.judge.empty()) return report;
  const std::unique_ptr<ResponseJudge> judge = make_judge(o, policy_tokenizer);
  const JudgeGeneration g = judge_generation(o, policy_tokenizer);
  // Exact judges rate every eval example (as before the win rate existed); the win rate takes the first ones.
  const size_t answered = judge->exact() ? preference.size()
                                         : std::min<size_t>(preference.size(), size_t(o.win_rate_max_examples));
  std::vector<Response> responses;
  for (size_t i = 0; i < answered; ++i) responses.push_back(respond(policy, preference[i].prompt, g));
  if (judge->exact()) {
    auto share = [](double right, size_t n) { return n ? nlohmann::json(right / double(n)) : nlohmann::json(nullptr); };
    double sft_right = 0, pref_right = 0;
    for (const SftExample& e : sft)
      sft_right += judge->accepts({e.prompt, as_response(e.completion, g.stop_tokens), e.accepted},
                                  respond(policy, e.prompt, g));
    for (size_t i = 0; i < preference.size(); ++i)
      pref_right += judge->accepts(
          {preference[i].prompt, as_response(preference[i].chosen, g.stop_tokens), preference[i].accepted},
          responses[i]);
    report.judge = {{"name", judge->name()},
                    {"sft_accuracy", share(sft_right, sft.size())},
                    {"preference_satisfaction", share(pref_right, preference.size())}};
  }
  const size_t n = std::min<size_t>(responses.size(), size_t(o.win_rate_max_examples));
  if (n > 0) {
    responses.resize(n);
    report.win_rate = win_rate_json(win_rate_against_chosen(preference, responses, *judge, g.stop_tokens), *judge);
  }
  return report;
}

}  // namespace tandem
