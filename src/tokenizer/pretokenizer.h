// Pre-tokenizer splits of the byte-level BPE families, written out as matchers instead of a regex engine:
//   llama3:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2:   the same with \p{N} (one digit per piece)
//   gpt2:    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Each matcher returns the length of the leftmost-first match at a position, as the regex would.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

enum class SplitPattern { kLlama3, kQwen2, kGpt2 };

// The pattern a tokenizer.json regex string denotes; an unknown pattern is an error quoting it.
SplitPattern split_pattern_from_regex(const std::string& regex);
// The regex string of a pattern, as tokenizer.json writes it.
const char* split_regex(SplitPattern pattern);

// Splits text into pieces (substrings of `text`, in order, covering it completely).
std::vector<std::u32string_view> pre_tokenize(std::u32string_view text, SplitPattern pattern);

}  // namespace tandem
