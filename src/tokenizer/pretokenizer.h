// Pre-tokenizer splits of the byte-level BPE families, written out as matchers instead of a regex engine:
//   llama3:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2:   the same with \p{N} (one digit per piece)
//   gpt2:    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   o200k:   OpenAI's o200k_base split (gpt-oss): words as an upper-case run and a lower-case run, digits in threes,
//            punctuation runs taking trailing line breaks and '/'; see kO200kRegex in pretokenizer.cpp
// Each matcher returns the length of the leftmost-first match at a position, as the regex would. Every other
// Split pattern runs on the regex engine (regex.h). PreTokenizer chains Split and ByteLevel steps as a
// tokenizer.json "Sequence" does, with the semantics of tokenizers/src/pre_tokenizers/{split,byte_level}.rs.
#pragma once
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"

namespace tandem {

enum class SplitPattern { kLlama3, kQwen2, kGpt2, kO200k };

// The pattern a tokenizer.json regex string denotes; an unknown pattern is an error quoting it.
SplitPattern split_pattern_from_regex(const std::string& regex);
// The regex string of a pattern, as tokenizer.json writes it.
const char* split_regex(SplitPattern pattern);

// The known pattern a regex string is, if any.
std::optional<SplitPattern> known_split_pattern(const std::string& regex);

// Splits text into pieces (substrings of `text`, in order, covering it completely).
std::vector<std::u32string_view> pre_tokenize(std::u32string_view text, SplitPattern pattern);

// What a Split does with the matches (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
// From its tokenizer.json name ("Isolated", ...); another name is an error naming it.
SplitBehavior split_behavior_from_name(const std::string& name);

// A match or a gap of a pattern in a text, in the text's code units (code points for Split, bytes for the
// SentencePiece-style pre-tokenizers).
struct SplitSpan {
  size_t start, end;
  bool is_match;
};

// NormalizedString::split: the pieces `behavior` keeps of the matches and gaps that cover a text in order (removed
// matches are left out; empty pieces may remain, for the caller to drop).
std::vector<SplitSpan> split_pieces(const std::vector<SplitSpan>& matches, SplitBehavior behavior);

// One Split pre-tokenizer: a pattern, what becomes of its matches, and `invert` (the gaps count as the matches).
class Split {
 public:
  // The known patterns keep their hand-written matchers; any other compiles on the regex engine.
  static Split regex(const std::string& pattern, SplitBehavior behavior = SplitBehavior::kIsolated,
                     bool invert = false);
  // A String pattern: the literal text.
  static Split literal(const std::string& text, SplitBehavior behavior, bool invert);

  // Appends the pieces of `text` (views into it, never empty) to `out`.
  void split(std::u32string_view text, std::vector<std::u32string_view>& out) const;

 private:
  std::vector<SplitSpan> find_matches(std::u32string_view text) const;

  std::optional<SplitPattern> known_;
  std::shared_ptr<const Regex> regex_;
  SplitBehavior behavior_ = SplitBehavior::kIsolated;
  bool invert_ = false;
};

// The pre-tokenizer of a tokenizer.json: its Split, Digits, Punctuation and ByteLevel steps, in order.
class PreTokenizer {
 public:
  void add_split(Split split);
  // ByteLevel: a space before each piece that lacks one (add_prefix_space), then the GPT-2 split (use_regex).
  void add_byte_level(bool add_prefix_space, bool use_regex);

  // The pieces of `text`; `storage` keeps the text that steps add (ByteLevel's prefix space).
  std::vector<std::u32string_view> run(std::u32string_view text, std::deque<std::u32string>& storage) const;

 private:
  struct Step {
    std::optional<Split> split;  // else ByteLevel's prefix space
  };
  std::vector<Step> steps_;
};

}  // namespace tandem
