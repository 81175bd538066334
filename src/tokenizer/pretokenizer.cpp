#include "tokenizer/pretokenizer.h"

#include "core/check.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {

const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Text {
  std::u32string_view s;
  bool letter(size_t k) const { return k < s.size() && is_letter(s[k]); }
  bool number(size_t k) const { return k < s.size() && is_number(s[k]); }
  bool space(size_t k) const { return k < s.size() && is_whitespace(s[k]); }
  bool newline(size_t k) const { return k < s.size() && (s[k] == '\r' || s[k] == '\n'); }
  bool other(size_t k) const { return k < s.size() && !is_whitespace(s[k]) && !is_letter(s[k]) && !is_number(s[k]); }
  char32_t lower(size_t k) const {
    const char32_t c = k < s.size() ? s[k] : 0;
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
  }
};

// 's 't 're 've 'm 'll 'd; case-insensitive for the llama3/qwen2 family.
size_t contraction(const Text& t, size_t i, bool ignore_case) {
  if (i >= t.s.size() || t.s[i] != '\'') return 0;
  auto at = [&](size_t k) { return ignore_case ? t.lower(k) : (k < t.s.size() ? t.s[k] : 0); };
  const char32_t a = at(i + 1), b = at(i + 2);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+ at a whitespace position. `newline_rule` is off for gpt2.
size_t whitespace_run(const Text& t, size_t i, bool newline_rule) {
  size_t end = i;
  while (t.space(end)) ++end;
  if (newline_rule)
    for (size_t k = end; k > i; --k)
      if (t.newline(k - 1)) return k - i;  // ends at the run's last line break
  if (end == t.s.size() || end - i == 1) return end - i;
  return end - 1 - i;  // leave the last space to prefix the following word
}

size_t match_llama3(const Text& t, size_t i, size_t max_digits) {
  if (size_t n = contraction(t, i, true)) return n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  size_t j = i;
  if (!t.letter(j) && !t.number(j) && !t.newline(j) && t.letter(j + 1)) ++j;
  if (t.letter(j)) {
    while (t.letter(j)) ++j;
    return j - i;
  }
  if (t.number(i)) {
    j = i;
    while (t.number(j) && j - i < max_digits) ++j;
    return j - i;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  j = i;
  if (t.s[j] == ' ' && t.other(j + 1)) ++j;
  if (t.other(j)) {
    while (t.other(j)) ++j;
    while (t.newline(j)) ++j;
    return j - i;
  }
  return whitespace_run(t, i, true);
}

size_t match_gpt2(const Text& t, size_t i) {
  if (size_t n = contraction(t, i, false)) return n;
  const size_t j = t.s[i] == ' ' ? i + 1 : i;  // the optional leading space of the next three rules
  size_t k = j;
  if (t.letter(j)) {
    while (t.letter(k)) ++k;
    return k - i;
  }
  if (t.number(j)) {
    while (t.number(k)) ++k;
    return k - i;
  }
  if (t.other(j)) {
    while (t.other(k)) ++k;
    return k - i;
  }
  return whitespace_run(t, i, false);
}

}  // namespace

SplitPattern split_pattern_from_regex(const std::string& regex) {
  if (regex == kLlama3Regex) return SplitPattern::kLlama3;
  if (regex == kQwen2Regex) return SplitPattern::kQwen2;
  if (regex == kGpt2Regex) return SplitPattern::kGpt2;
  fail("tokenizer.json: unsupported pre-tokenizer regex ", regex,
       " (supported: the Llama-3, Qwen2/Qwen3 and GPT-2 byte-level patterns)");
}

const char* split_regex(SplitPattern pattern) {
  return pattern == SplitPattern::kLlama3 ? kLlama3Regex : pattern == SplitPattern::kQwen2 ? kQwen2Regex : kGpt2Regex;
}

std::vector<std::u32string_view> pre_tokenize(std::u32string_view text, SplitPattern pattern) {
  std::vector<std::u32string_view> pieces;
  const Text t{text};
  for (size_t i = 0; i < text.size();) {
    size_t n = pattern == SplitPattern::kGpt2 ? match_gpt2(t, i)
                                              : match_llama3(t, i, pattern == SplitPattern::kLlama3 ? 3 : 1);
    if (n == 0) n = 1;  // unreachable for these patterns (every character matches some rule); never loop
    pieces.push_back(text.substr(i, n));
    i += n;
  }
  return pieces;
}

}  // namespace tandem
