// The judges a run or `tandem eval-win-rate` asks for, by the config's names (judge, judge_model_path,
// judge_template, win_rate_max_examples, judge_max_new_tokens), and what they write into summary.json: "judge" (exact
// judges: SFT accuracy on the SFT eval set, preference satisfaction on the preference eval set) and "win_rate"
// (eval/win_rate.h, against the chosen responses of the first win_rate_max_examples preference eval examples).
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/examples.h"
#include "data/tokenizer_dir.h"
#include "eval/judges.h"
#include "eval/win_rate.h"
#include "model/decoder_model.h"

namespace tandem {

struct JudgeOptions {
  std::string judge;  // "" (none) | toy | answers | reward_model
  std::string model_path;                          // reward_model: the judge's model folder
  std::string judge_template = "{prompt}{response}";
  int64_t win_rate_max_examples = 64;
  int64_t max_new_tokens = 64;  // the toy judge answers in its task's 4 tokens
};

// What the judge needs, checked before a run spends its time: errors name the key at fault. `policy_tokenizer` may
// be null (pre-tokenized data): only the toy judge works without one.
void check_judge_options(const JudgeOptions& o, const TokenizerDir* policy_tokenizer);
std::unique_ptr<ResponseJudge> make_judge(const JudgeOptions& o, const TokenizerDir* policy_tokenizer);
JudgeGeneration judge_generation(const JudgeOptions& o, const TokenizerDir* policy_tokenizer);

struct JudgeReport {
  nlohmann::json judge = nullptr;     // {"name", "sft_accuracy", "preference_satisfaction"}; null: not an exact judge
  nlohmann::json win_rate = nullptr;  // eval/win_rate.h's win_rate_json; null: no preference examples
};
// Null fields throughout when o.judge is "". A missing eval set leaves its accuracy null.
JudgeReport run_judges(const DecoderModel& policy, const std::vector<SftExample>& sft,
                       const std::vector<PreferenceExample>& preference, const JudgeOptions& o,
                       const TokenizerDir* policy_tokenizer);

}  // namespace tandem
