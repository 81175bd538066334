// Normalizers of tokenizer.json, applied in order to each stretch of text between added tokens: NFC, Prepend
// (a prefix on non-empty text: Llama-2's "▁") and Replace of a literal string (" " -> "▁").
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

struct NormalizerStep {
  enum class Kind { kNfc, kPrepend, kReplace };
  Kind kind;
  std::string text;     // kPrepend: the prefix; kReplace: the (non-empty) pattern
  std::string content;  // kReplace: what replaces each match
};

std::string normalize(const std::vector<NormalizerStep>& steps, std::string_view text);

// Every non-overlapping occurrence of `pattern` (non-empty), leftmost first, replaced by `content`.
std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content);

}  // namespace tandem
