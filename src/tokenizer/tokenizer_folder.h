// A complete Hugging Face tokenizer folder for a trained BPE: tokenizer.json, tokenizer_config.json (EOS, pad,
// the ChatML chat template when its tokens are special tokens, added_tokens_decoder) and special_tokens_map.json,
// as transformers' save_pretrained writes them, so both Tandem (data/tokenizer_dir.h) and transformers'
// AutoTokenizer load the folder with an EOS and a chat template.
#pragma once
#include <string>
#include <vector>

namespace tandem {

// The ChatML template as Hugging Face documents it (chat templating guide), verbatim.
extern const char* const kChatmlTemplate;

// Writes the three files into `dir` (created with its parents). `special_tokens` are the tokenizer's special
// tokens in id order (ids 0..n-1, as train_bpe assigns them); the first is EOS and pad.
void write_tokenizer_folder(const std::string& dir, const std::string& tokenizer_json,
                            const std::vector<std::string>& special_tokens);

}  // namespace tandem
