// Tokenised training examples: what every dataset format becomes (see data/text_formats.h for the formats).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem {

// `accepted`: the exact answers an "answers" judge accepts (a JSONL line's "accepted" list); empty: the completion's
// (the chosen response's) text is the one accepted answer.
struct SftExample {
  std::vector<int32_t> prompt, completion;
  std::vector<std::string> accepted = {};
};

struct PreferenceExample {
  std::vector<int32_t> prompt, chosen, rejected;
  std::vector<std::string> accepted = {};
};

// 64-bit FNV-1a over a dataset's token ids: part of the reference-log-prob cache key.
uint64_t dataset_hash(const std::vector<PreferenceExample>& data);
// The same over SFT examples: data-parallel ranks compare it at start-up.
uint64_t dataset_hash(const std::vector<SftExample>& data);

}  // namespace tandem
