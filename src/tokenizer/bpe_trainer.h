// Learns a byte-level BPE vocabulary from text and writes it as a Hugging Face tokenizer.json (Split pre-tokenizer
// with the chosen pattern + ByteLevel), loadable by the tokenizers library and by BpeTokenizer. For the small
// vocabularies of tiny models and tests.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/pretokenizer.h"

namespace tandem {

struct BpeTrainerOptions {
  int64_t vocab_size = 1024;  // special tokens + 256 bytes + merges
  int64_t min_frequency = 2;  // a pair seen fewer times is never merged
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
  SplitPattern pattern = SplitPattern::kQwen2;
};

// Returns the tokenizer.json text. Ties between equally frequent pairs go to the smaller pair of token ids,
// so training is deterministic.
std::string train_bpe(const std::vector<std::string>& texts, const BpeTrainerOptions& options);

}  // namespace tandem
