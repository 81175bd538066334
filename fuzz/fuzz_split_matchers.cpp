// Differential: each hand-written Split matcher (pretokenizer.h: Llama-3, Qwen2, GPT-2, o200k) against the regex
// engine running the pattern it stands for, on hostile text. Pieces that differ are a finding, as is anything
// besides a tandem::Error (the engine's step budget) from either side.
#include <vector>

#include "fuzz_input.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tandem::SplitPattern;
  static const SplitPattern patterns[] = {SplitPattern::kLlama3, SplitPattern::kQwen2, SplitPattern::kGpt2,
                                          SplitPattern::kO200k};
  static const std::vector<tandem::Regex> engines = [] {
    std::vector<tandem::Regex> e;
    for (SplitPattern p : patterns) e.emplace_back(tandem::split_regex(p));
    return e;
  }();
  const std::u32string text = tandem::utf8_decode(tandem::fuzz::text(data, size));
  tandem::fuzz::expect_clean([&] {
    for (size_t k = 0; k < engines.size(); ++k) {
      std::vector<std::pair<size_t, size_t>> hand;
      size_t at = 0;
      for (auto piece : tandem::pre_tokenize(text, patterns[k])) {
        hand.emplace_back(at, at + piece.size());
        at += piece.size();
      }
      if (engines[k].find_all(text) != hand) __builtin_trap();
    }
  });
  return 0;
}
