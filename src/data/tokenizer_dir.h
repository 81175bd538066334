// A Hugging Face tokenizer folder: tokenizer.json, and tokenizer_config.json for the chat template and EOS token.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/text_formats.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/chat_template.h"

namespace tandem {

struct TokenizerDir {
  BpeTokenizer tokenizer;
  std::optional<ChatTemplate> chat_template;  // when tokenizer_config.json has one (and use_chat_template)
  int32_t eos_id = -1;                        // tokenizer_config.json's eos_token
  std::string dir;                            // the folder it was loaded from (checkpoints copy its files)
  TextEncoder encoder() const { return {&tokenizer, chat_template ? &*chat_template : nullptr, eos_id}; }
};

// Null when the folder has no tokenizer.json.
std::unique_ptr<TokenizerDir> load_tokenizer_dir(const std::string& dir, bool use_chat_template = true);

// The tokens that end a generated reply: EOS, generation_config.json's eos_token_id (an id or a list) when the
// folder has one, and the chat formats' end-of-turn markers the vocabulary holds.
std::vector<int32_t> reply_stop_tokens(const TokenizerDir& t);

// The tokenizer of a run: `tokenizer_name_or_path`, else the model's folder. Null when neither is set or the model's
// folder has none (pre-tokenized data); a named tokenizer folder without tokenizer.json is an error.
std::unique_ptr<TokenizerDir> load_run_tokenizer(const std::string& tokenizer_name_or_path,
                                                 const std::string& model_name_or_path, bool use_chat_template);

}  // namespace tandem
