// What a saved model folder needs besides its weights to be used alone: the tokenizer files of the folder the run
// tokenized with (tokenizer.json, tokenizer_config.json, special_tokens_map.json when present) and a
// generation_config.json (bos/eos/pad token ids, as transformers writes it; the source folder's own is copied
// when it has one, since it may carry sampling defaults).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace tandem {

// Copies the files into `out_dir` (each written atomically and fsynced).
void write_tokenizer_files(const std::string& tokenizer_dir, const std::string& out_dir);

// {"bos_token_id", "eos_token_id", "pad_token_id"} from tokenizer_config.json's tokens, each present only when the
// token is set; ids from tokenizer.json.
nlohmann::json generation_config_from_tokenizer(const std::string& tokenizer_dir);

}  // namespace tandem
