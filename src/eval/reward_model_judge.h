// A judge that is a language model: a Tandem checkpoint or Hugging Face model folder with its tokenizer scores a
// response by the summed log-prob of a judge template. The template holds {response} once and {prompt} any number
// of times (default "{prompt}{response}"). The prompt and response enter as text, decoded with the policy's
// tokenizer without its special tokens (the two models may have different vocabularies). The text before
// {response} (prompt filled in) is the prefix, encoded with the judge tokenizer's special tokens (a BOS where it
// adds one); the response and the template's suffix are encoded after it, and the score is the sum of log p over
// those tokens given the prefix. Log-probs are <= 0: a shorter response loses less, so compare responses of
// similar length or give the template a suffix that a good answer makes likely.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/tokenizer_dir.h"
#include "eval/judges.h"
#include "model/decoder_model.h"

namespace tandem {

// The template's text around {response}, with {prompt} filled in.
struct JudgeTemplateParts {
  std::string prefix, suffix;
};

// Fails naming `key` (judge_template) when the template lacks {response} or holds it twice.
void check_judge_template(const std::string& judge_template, const std::string& key);
JudgeTemplateParts fill_judge_template(const std::string& judge_template, const std::string& prompt);

class RewardModelJudge : public ResponseJudge {
 public:
  // Loads the model folder once. `policy_tokenizer` decodes prompts and responses into text.
  RewardModelJudge(const std::string& model_dir, const std::string& judge_template,
                   const BpeTokenizer& policy_tokenizer);
  std::string name() const override { return "reward_model"; }
  std::string scoring() const override;
  double score(const JudgedExample& e, const Response& r) override;
  // The score of response text after prompt text (what score() computes once both are decoded).
  double score_text(const std::string& prompt, const std::string& response);

 private:
  std::string dir_, template_;
  const BpeTokenizer& policy_tokenizer_;
  std::unique_ptr<DecoderModel> model_;
  std::unique_ptr<TokenizerDir> tokenizer_;
};

}  // namespace tandem
