#include "eval/reward_model_judge.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/hf_checkpoint.h"
#include "model/batch.h"

namespace tandem {

namespace {
constexpr const char* kResponse = "{response}";
constexpr const char* kPrompt = "{prompt}";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}
}  // namespace

void check_judge_template(const std::string& judge_template, const std::string& key) {
  const size_t at = judge_template.find(kResponse);
  TANDEM_CHECK(at != std::string::npos, key, ": the template '", judge_template,
               "' has no {response} (where the judged response goes; e.g. \"{prompt}{response}\")");
  TANDEM_CHECK(judge_template.find(kResponse, at + 1) == std::string::npos, key, ": the template '",
               judge_template, "' holds {response} more than once");
}

JudgeTemplateParts fill_judge_template(const std::string& judge_template, const std::string& prompt) {
  check_judge_template(judge_template, "judge_template");
  const size_t at = judge_template.find(kResponse);
  // The prompt is filled into each part separately, so a prompt that itself holds "{response}" changes nothing.
  return {replace_all(judge_template.substr(0, at), kPrompt, prompt),
          replace_all(judge_template.substr(at + std::string(kResponse).size()), kPrompt, prompt)};
}

RewardModelJudge::RewardModelJudge(const std::string& model_dir, const std::string& judge_template,
                                   const BpeTokenizer& policy_tokenizer)
    : dir_(model_dir), template_(judge_template), policy_tokenizer_(policy_tokenizer) {
  check_judge_template(judge_template, "judge_template");
  TANDEM_CHECK(std::filesystem::exists(model_dir + "/config.json"), "judge_model_path: ", model_dir,
               " is not a model folder (no config.json); a LoRA adapter checkpoint must be merged first "
               "(tandem merge-lora)");
  tokenizer_ = load_tokenizer_dir(model_dir, /*use_chat_template=*/false);
  TANDEM_CHECK(tokenizer_, "judge_model_path: ", model_dir, " has no tokenizer.json (the judge reads text)");
  model_ = load_model(model_dir);
  TANDEM_CHECK(tokenizer_->tokenizer.vocab_size() <= model_->config().vocab_size, "judge_model_path: ", model_dir,
               ": the tokenizer has ", tokenizer_->tokenizer.vocab_size(), " tokens but the model's vocab_size is ",
               model_->config().vocab_size);
  model_->set_training(false);
}

std::string RewardModelJudge::scoring() const {
  return "summed log-prob of the response and the template's suffix after its prefix, under " + dir_ +
         " (template " + nlohmann::json(template_).dump() + ")";
}

double RewardModelJudge::score(const JudgedExample& e, const Response& r) {
  return score_text(decode_response(policy_tokenizer_, e.prompt, /*skip_special_tokens=*/true),
                    decode_response(policy_tokenizer_, r.ids, /*skip_special_tokens=*/true));
}

double RewardModelJudge::score_text(const std::string& prompt, const std::string& response) {
  const JudgeTemplateParts parts = fill_judge_template(template_, prompt);
  std::vector<int32_t> ids = tokenizer_->tokenizer.encode(parts.prefix, /*add_special_tokens=*/true);
  const size_t prefix = ids.size();
  TANDEM_CHECK(prefix > 0, "judge_template: the text before {response} is empty for a prompt and the judge's "
                           "tokenizer adds no BOS, so the response's first token has no context to be scored in");
  const std::vector<int32_t> scored = tokenizer_->tokenizer.encode(response + parts.suffix, false);
  if (scored.empty()) return 0.0;  // nothing to score: log 1
  ids.insert(ids.end(), scored.begin(), scored.end());
  const int64_t limit = model_->config().max_position_embeddings;
  TANDEM_CHECK(int64_t(ids.size()) <= limit, "judge_model_path: the judge template for a prompt and response is ",
               ids.size(), " tokens, beyond the judge model's max_position_embeddings ", limit);
  Batch b(1, int64_t(ids.size()));
  b.tokens = ids;
  for (size_t t = prefix; t < ids.size(); ++t) b.loss_mask[t] = 1;  // token t, predicted from position t-1
  return model_->forward(b).logp[0];
}

}  // namespace tandem
