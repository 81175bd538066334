// A small regex engine for the Split patterns of tokenizer.json files, with the semantics of Oniguruma (Ruby
// syntax), which the Hugging Face tokenizers library uses: leftmost-first alternation, greedy and lazy quantifiers
// (? * + {n} {n,} {n,m}), groups (...) (?:...) (?<name>...) (?i:...) (?i) (?-i:...), lookahead (?=...) (?!...),
// classes with ranges, negation and escapes, \s \S \d \D \w \W \h \H, \p{..} / \P{..} / \p{^..} over general
// categories (L, Lu, ..., and the long names), \t \n \r \f \v \a \e \xHH \x{H..} \uHHHH, '.', ^ $ (line anchors,
// as Ruby) \A \z \Z \b \B. Anything else is an error quoting the pattern and the construct.
//
// Matching works on code points. It is a backtracking machine that remembers which (instruction, position) pairs
// it already tried in the current attempt, so one attempt costs at most (program size x text length) steps: no
// catastrophic backtracking. A step budget per text bounds the rest (lookaheads, quadratic searches). Each
// attempt first runs without the memo, greedy one-character loops (x*, x+) as scans: on real patterns the memo
// costs more than it saves; it also skips an alternative whose first character (ASCII, precomputed per branch)
// cannot be the one at hand. That attempt explores the same states in the same order, minus ones bound to fail,
// so its answer is the same; past 1024 steps it gives up and the memoised attempt runs instead (and every later
// one in that text).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem {

class Regex {
 public:
  // Compiles a UTF-8 pattern; an error quotes it and names what is malformed or unsupported.
  explicit Regex(const std::string& pattern);
  // A pattern matching `literal` exactly (Split's String patterns).
  static Regex literal(const std::string& literal);

  // The leftmost-first match starting at `start` (the end position), or nothing. `text` is the whole text, so
  // anchors and lookaheads see past the match.
  std::optional<size_t> match_at(std::u32string_view text, size_t start) const;
  // The first match starting at or after `from`: (start, end).
  std::optional<std::pair<size_t, size_t>> search(std::u32string_view text, size_t from) const;
  // Every match, as Oniguruma's find_iter yields them (an empty match right after the previous match is skipped).
  std::vector<std::pair<size_t, size_t>> find_all(std::u32string_view text) const;
  // find_all with every attempt memoised: the reference the tests hold the default path to (which tries each
  // attempt unmemoised first, running greedy one-character loops as scans).
  std::vector<std::pair<size_t, size_t>> find_all_memoised(std::u32string_view text) const;

  const std::string& pattern() const { return pattern_; }

  struct Program;  // compiled instructions and classes (regex.cpp)

 private:
  Regex() = default;
  std::string pattern_;
  std::shared_ptr<const Program> program_;
};

}  // namespace tandem
