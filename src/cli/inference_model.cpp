#include "cli/inference_model.h"

#include <algorithm>
#include <filesystem>

#include "core/check.h"
#include "io/hf_checkpoint.h"
#include "io/json_file.h"
#include "model/lora.h"

namespace tandem {

namespace fs = std::filesystem;

namespace {
std::unique_ptr<DecoderModel> load_weights_of(const std::string& dir, const std::string& base_dir) {
  const std::string adapter_cfg = dir + "/adapter_config.json";
  if (!fs::exists(adapter_cfg)) {
    TANDEM_CHECK(fs::exists(dir + "/config.json"), dir,
                 ": not a model folder (no config.json) nor a LoRA checkpoint (no adapter_config.json)");
    return load_model(dir);
  }
  std::string base = base_dir;
  if (base.empty()) base = json_get_or<std::string>(read_json_file(adapter_cfg), "base_model_name_or_path", "", adapter_cfg);
  TANDEM_CHECK(!base.empty() && fs::exists(base + "/config.json"), dir,
               " is a LoRA adapter checkpoint; its base model is needed: pass --base DIR (the run's "
               "model_name_or_path)");
  auto model = load_model(base);
  merge_lora(model->weights(), load_peft_adapter(dir, model->config()));
  return model;
}
}  // namespace

InferenceModel load_inference_model(const std::string& dir, const std::string& base_dir, bool require_tokenizer) {
  InferenceModel m;
  m.model = load_weights_of(dir, base_dir);
  m.tokenizer = load_tokenizer_dir(dir);
  if (!m.tokenizer && !base_dir.empty()) m.tokenizer = load_tokenizer_dir(base_dir);
  if (!m.tokenizer && !require_tokenizer) return m;
  TANDEM_CHECK(m.tokenizer, dir, " has no tokenizer.json (checkpoints saved by this version carry one; copy the "
                                 "tokenizer files of the model the run started from into it)");
  m.stop_tokens = reply_stop_tokens(*m.tokenizer);
  return m;
}

std::string reply(const InferenceModel& m, const std::vector<int32_t>& prompt, const GenerationConfig& cfg, Rng& rng) {
  const int64_t limit = m.model->config().max_position_embeddings;
  TANDEM_CHECK(int64_t(prompt.size()) + cfg.max_new_tokens <= limit, "the prompt (", prompt.size(),
               " tokens) plus --max-new-tokens ", cfg.max_new_tokens, " exceeds the model's max_position_embeddings ",
               limit, " (in chat: /reset starts a new conversation)");
  GenerationConfig c = cfg;
  c.stop_tokens = m.stop_tokens;
  return reply_text(m, generate(*m.model, prompt, c, rng));
}

std::string reply_text(const InferenceModel& m, std::vector<int32_t> tokens) {
  if (!tokens.empty() && std::find(m.stop_tokens.begin(), m.stop_tokens.end(), tokens.back()) != m.stop_tokens.end())
    tokens.pop_back();
  return m.tokenizer->tokenizer.decode(tokens);
}

}  // namespace tandem
