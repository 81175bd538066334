// Tokenised training examples and their JSONL form. Until the tokenizer lands these are read pre-tokenised:
//   SFT:        {"prompt_ids": [1, 2, 3], "completion_ids": [4, 5]}
//   preference: {"prompt_ids": [...], "chosen_ids": [...], "rejected_ids": [...]}
// A malformed line is an error naming file:line and the field.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem {

struct SftExample {
  std::vector<int32_t> prompt, completion;
};

struct PreferenceExample {
  std::vector<int32_t> prompt, chosen, rejected;
};

std::vector<SftExample> load_sft_jsonl(const std::string& path);
std::vector<PreferenceExample> load_preference_jsonl(const std::string& path);

// 64-bit FNV-1a over a dataset's token ids: part of the reference-log-prob cache key.
uint64_t dataset_hash(const std::vector<PreferenceExample>& data);

}  // namespace tandem
