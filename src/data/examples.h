// Tokenised training examples: what every dataset format becomes (see data/text_formats.h for the formats).
#pragma once
#include <cstdint>
#include <vector>

namespace tandem {

struct SftExample {
  std::vector<int32_t> prompt, completion;
};

struct PreferenceExample {
  std::vector<int32_t> prompt, chosen, rejected;
};

// 64-bit FNV-1a over a dataset's token ids: part of the reference-log-prob cache key.
uint64_t dataset_hash(const std::vector<PreferenceExample>& data);

}  // namespace tandem
