#include "tokenizer/sentencepiece_pretokenizer.h"

#include <algorithm>

#include "tokenizer/normalizer.h"

namespace tandem {

std::vector<std::string> split_on(const std::string& text, const std::string& delimiter, SplitBehavior behavior) {
  // The text as alternating (substring, is_match) runs, as the HF library's find_matches gives them.
  std::vector<std::pair<std::string, bool>> runs;
  size_t start = 0;
  for (size_t hit; (hit = text.find(delimiter, start)) != std::string::npos; start = hit + delimiter.size()) {
    if (hit > start) runs.push_back({text.substr(start, hit - start), false});
    runs.push_back({delimiter, true});
  }
  if (start < text.size()) runs.push_back({text.substr(start), false});

  // A match joins its neighbour unless the neighbour on that side is itself a match.
  const bool with_next = behavior == SplitBehavior::kMergedWithNext;
  if (with_next) std::reverse(runs.begin(), runs.end());
  std::vector<std::string> pieces;
  bool previous_match = false;
  for (auto& [s, is_match] : runs) {
    if (is_match && !previous_match && !pieces.empty())
      pieces.back() = with_next ? s + pieces.back() : pieces.back() + s;
    else
      pieces.push_back(std::move(s));
    previous_match = is_match;
  }
  if (with_next) std::reverse(pieces.begin(), pieces.end());
  return pieces;
}

namespace {

void apply(const SpPreTokenizerStep& step, std::vector<SpPiece>& pieces) {
  std::vector<SpPiece> out;
  for (auto& piece : pieces) {
    std::string text = std::move(piece.text);
    std::string delimiter = step.text;
    SplitBehavior behavior = step.behavior;
    bool split = true;
    if (step.kind == SpPreTokenizerStep::Kind::kMetaspace) {
      text = replace_all(text, " ", step.text);
      const bool prepend = step.prepend == PrependScheme::kAlways ||
                           (step.prepend == PrependScheme::kFirst && piece.at_input_start);
      if (prepend && !text.empty() && text.compare(0, step.text.size(), step.text) != 0) text.insert(0, step.text);
      behavior = SplitBehavior::kMergedWithNext;
      split = step.split;
    }
    if (!split) {
      out.push_back({std::move(text), piece.at_input_start});
      continue;
    }
    bool first = true;
    for (auto& s : split_on(text, delimiter, behavior)) {
      out.push_back({std::move(s), piece.at_input_start && first});
      first = false;
    }
  }
  pieces = std::move(out);
}

}  // namespace

void sp_pre_tokenize(const std::vector<SpPreTokenizerStep>& steps, std::vector<SpPiece>& pieces) {
  for (const auto& step : steps) apply(step, pieces);
  std::erase_if(pieces, [](const SpPiece& p) { return p.text.empty(); });
}

}  // namespace tandem
