// A model ready to talk to, for `tandem generate` and `tandem chat`: a Hugging Face folder or a Tandem checkpoint
// (a LoRA adapter checkpoint is merged into its base), with its tokenizer and the tokens that end a reply.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/tokenizer_dir.h"
#include "model/generate.h"
#include "model/decoder_model.h"

namespace tandem {

struct InferenceModel {
  std::unique_ptr<DecoderModel> model;
  std::unique_ptr<TokenizerDir> tokenizer;
  std::vector<int32_t> stop_tokens;  // EOS (tokenizer_config.json, generation_config.json) and end-of-turn tokens
};

// `base_dir` is needed for an adapter checkpoint whose adapter_config.json names no existing base folder. Without
// `require_tokenizer` a folder without tokenizer.json loads with a null tokenizer (pre-tokenized evaluation).
InferenceModel load_inference_model(const std::string& dir, const std::string& base_dir,
                                    bool require_tokenizer = true);

// Generates a reply to `prompt` (token ids) and returns its text without the stop token. Fails naming the limit
// when prompt + max_new_tokens exceeds the model's max_position_embeddings.
std::string reply(const InferenceModel& m, const std::vector<int32_t>& prompt, const GenerationConfig& cfg, Rng& rng);

// The text of generated tokens, without the stop token that ended them.
std::string reply_text(const InferenceModel& m, std::vector<int32_t> tokens);

}  // namespace tandem
