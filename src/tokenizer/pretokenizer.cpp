#include "tokenizer/pretokenizer.h"

#include <algorithm>

#include "core/check.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {

const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* kO200kRegex =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct Text {
  std::u32string_view s;
  bool letter(size_t k) const { return k < s.size() && is_letter(s[k]); }
  bool number(size_t k) const { return k < s.size() && is_number(s[k]); }
  bool space(size_t k) const { return k < s.size() && is_whitespace(s[k]); }
  bool newline(size_t k) const { return k < s.size() && (s[k] == '\r' || s[k] == '\n'); }
  bool other(size_t k) const { return k < s.size() && !is_whitespace(s[k]) && !is_letter(s[k]) && !is_number(s[k]); }
  // The case fold (?i) compares: ASCII letters, and U+017F LATIN SMALL LETTER LONG S, which folds to 's' (the
  // only other code point folding to a letter of the contractions).
  char32_t lower(size_t k) const {
    const char32_t c = k < s.size() ? s[k] : 0;
    return c >= 'A' && c <= 'Z' ? c + 32 : c == 0x17F ? U's' : c;
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

// o200k's two letter classes, "upper" [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and "lower" [\p{Ll}\p{Lm}\p{Lo}\p{M}], as
// sets of general categories: Lm, Lo and the marks are in both.
using G = GeneralCategory;
constexpr uint32_t category_bit(G g) { return uint32_t(1) << int(g); }
constexpr uint32_t kMarkBits = category_bit(G::kMn) | category_bit(G::kMc) | category_bit(G::kMe);
constexpr uint32_t kO200kUpper =
    category_bit(G::kLu) | category_bit(G::kLt) | category_bit(G::kLm) | category_bit(G::kLo) | kMarkBits;
constexpr uint32_t kO200kLower = category_bit(G::kLl) | category_bit(G::kLm) | category_bit(G::kLo) | kMarkBits;
bool in_categories(const Text& t, size_t k, uint32_t categories) {
  if (k >= t.s.size()) return false;
  const char32_t c = t.s[k];
  // ASCII without the table (most text; without this gpt-oss encoded 8% slower in a paired run): its only
  // letters are Lu and Ll, and no other ASCII character is in these sets.
  const uint32_t bit = c >= 0x80             ? category_bit(general_category(c))
                       : c >= 'A' && c <= 'Z' ? category_bit(G::kLu)
                       : c >= 'a' && c <= 'z' ? category_bit(G::kLl)
                                              : 0;
  return (bit & categories) != 0;
}
bool o200k_upper(const Text& t, size_t k) { return in_categories(t, k, kO200kUpper); }
bool o200k_lower(const Text& t, size_t k) { return in_categories(t, k, kO200kLower); }

// The end of `upper* lower+ contraction?` from j (the regex's first alternative after its optional prefix), or 0.
// The greedy upper* backtracks: when the upper run is not followed by a lower character, lower+ starts at the
// last character of the run that is also lower (Lm, Lo, a mark), and ends right after it.
size_t o200k_upper_then_lower(const Text& t, size_t j) {
  size_t k = j;
  while (o200k_upper(t, k)) ++k;
  size_t end = 0;
  if (o200k_lower(t, k)) {
    end = k;
    while (o200k_lower(t, end)) ++end;
  } else {
    for (size_t m = k; m > j; --m)
      if (o200k_lower(t, m - 1)) {
        end = m;
        break;
      }
  }
  return end ? end + contraction(t, end, true) : 0;
}

// The end of `upper+ lower* contraction?` from j (the second alternative after its prefix), or 0.
size_t o200k_upper_run(const Text& t, size_t j) {
  if (!o200k_upper(t, j)) return 0;
  size_t k = j;
  while (o200k_upper(t, k)) ++k;
  while (o200k_lower(t, k)) ++k;
  return k + contraction(t, k, true);
}

size_t match_o200k(const Text& t, size_t i) {
  // Each of the two letter alternatives is tried with its optional prefix [^\r\n\p{L}\p{N}] first, then without.
  const bool prefix = !t.letter(i) && !t.number(i) && !t.newline(i);
  for (auto alternative : {o200k_upper_then_lower, o200k_upper_run}) {
    if (prefix)
      if (size_t end = alternative(t, i + 1)) return end - i;
    if (size_t end = alternative(t, i)) return end - i;
  }
  if (t.number(i)) {  // \p{N}{1,3}
    size_t j = i;
    while (t.number(j) && j - i < 3) ++j;
    return j - i;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
  size_t j = i;
  if (t.s[j] == ' ' && t.other(j + 1)) ++j;
  if (t.other(j)) {
    while (t.other(j)) ++j;
    while (t.newline(j) || (j < t.s.size() && t.s[j] == '/')) ++j;
    return j - i;
  }
  return whitespace_run(t, i, true);
}

}  // namespace

std::optional<SplitPattern> known_split_pattern(const std::string& regex) {
  if (regex == kLlama3Regex) return SplitPattern::kLlama3;
  if (regex == kQwen2Regex) return SplitPattern::kQwen2;
  if (regex == kGpt2Regex) return SplitPattern::kGpt2;
  if (regex == kO200kRegex) return SplitPattern::kO200k;
  return std::nullopt;
}

SplitPattern split_pattern_from_regex(const std::string& regex) {
  if (auto known = known_split_pattern(regex)) return *known;
  fail("tokenizer.json: unsupported pre-tokenizer regex ", regex,
       " (supported: the Llama-3, Qwen2/Qwen3, GPT-2 and o200k byte-level patterns)");
}

const char* split_regex(SplitPattern pattern) {
  switch (pattern) {
    case SplitPattern::kLlama3: return kLlama3Regex;
    case SplitPattern::kQwen2: return kQwen2Regex;
    case SplitPattern::kGpt2: return kGpt2Regex;
    case SplitPattern::kO200k: return kO200kRegex;
  }
  return kGpt2Regex;  // unreachable: every enumerator is handled above
}

std::vector<std::u32string_view> pre_tokenize(std::u32string_view text, SplitPattern pattern) {
  std::vector<std::u32string_view> pieces;
  const Text t{text};
  for (size_t i = 0; i < text.size();) {
    size_t n = pattern == SplitPattern::kGpt2    ? match_gpt2(t, i)
               : pattern == SplitPattern::kO200k ? match_o200k(t, i)
                                                 : match_llama3(t, i, pattern == SplitPattern::kLlama3 ? 3 : 1);
    if (n == 0) n = 1;  // unreachable for these patterns (every character matches some rule); never loop
    pieces.push_back(text.substr(i, n));
    i += n;
  }
  return pieces;
}

SplitBehavior split_behavior_from_name(const std::string& name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  fail("unknown Split behavior '", name, "' (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
}

Split Split::regex(const std::string& pattern, SplitBehavior behavior, bool invert) {
  Split s;
  s.known_ = known_split_pattern(pattern);
  if (!s.known_) s.regex_ = std::make_shared<const Regex>(pattern);
  s.behavior_ = behavior;
  s.invert_ = invert;
  return s;
}

Split Split::literal(const std::string& text, SplitBehavior behavior, bool invert) {
  Split s;
  s.regex_ = std::make_shared<const Regex>(Regex::literal(text));
  s.behavior_ = behavior;
  s.invert_ = invert;
  return s;
}

// tokenizers' Pattern::find_matches: the matches and the gaps between them, covering the text in order.
std::vector<SplitSpan> Split::find_matches(std::u32string_view text) const {
  std::vector<SplitSpan> spans;
  if (text.empty()) return {{0, 0, invert_}};
  if (known_) {
    size_t at = 0;
    for (auto piece : pre_tokenize(text, *known_)) {  // these patterns match every character: no gaps
      spans.push_back({at, at + piece.size(), !invert_});
      at += piece.size();
    }
    return spans;
  }
  size_t prev = 0;
  for (auto [start, end] : regex_->find_all(text)) {
    if (prev != start) spans.push_back({prev, start, invert_});
    spans.push_back({start, end, !invert_});
    prev = end;
  }
  if (prev != text.size()) spans.push_back({prev, text.size(), invert_});
  return spans;
}

// NormalizedString::split: each behaviour turns the matches into (span, removed) pieces.
std::vector<SplitSpan> split_pieces(const std::vector<SplitSpan>& matches, SplitBehavior behavior) {
  std::vector<SplitSpan> pieces;  // is_match now means "removed"
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& m : matches) pieces.push_back({m.start, m.end, false});
      break;
    case SplitBehavior::kRemoved: pieces = matches; break;
    case SplitBehavior::kContiguous:
      for (const auto& m : matches) {
        if (m.is_match == previous_match && !pieces.empty()) pieces.back().end = m.end;
        else pieces.push_back({m.start, m.end, false});
        previous_match = m.is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const auto& m : matches) {
        if (m.is_match && !previous_match && !pieces.empty()) pieces.back().end = m.end;
        else pieces.push_back({m.start, m.end, false});
        previous_match = m.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) pieces.back().start = it->start;
        else pieces.push_back({it->start, it->end, false});
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
  }
  std::erase_if(pieces, [](const SplitSpan& p) { return p.is_match; });
  return pieces;
}

// Empty pieces are dropped, as PreTokenizedString::split drops them.
void Split::split(std::u32string_view text, std::vector<std::u32string_view>& out) const {
  if (known_ && behavior_ == SplitBehavior::kIsolated) {  // the hot path: no spans to build
    for (auto piece : pre_tokenize(text, *known_)) out.push_back(piece);
    return;
  }
  for (const auto& p : split_pieces(find_matches(text), behavior_))
    if (p.end > p.start) out.push_back(text.substr(p.start, p.end - p.start));
}

void PreTokenizer::add_split(Split split) { steps_.push_back({std::move(split)}); }

void PreTokenizer::add_byte_level(bool add_prefix_space, bool use_regex) {
  if (add_prefix_space) steps_.push_back({std::nullopt});
  if (use_regex) steps_.push_back({Split::regex(split_regex(SplitPattern::kGpt2))});
}

std::vector<std::u32string_view> PreTokenizer::run(std::u32string_view text,
                                                   std::deque<std::u32string>& storage) const {
  std::vector<std::u32string_view> pieces{text}, next;
  if (text.empty()) return {};
  for (const auto& step : steps_) {
    next.clear();
    for (auto piece : pieces) {
      if (step.split) {
        step.split->split(piece, next);
      } else if (!piece.empty() && piece[0] == ' ') {
        next.push_back(piece);
      } else {
        storage.push_back(U" " + std::u32string(piece));
        next.push_back(storage.back());
      }
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace tandem
