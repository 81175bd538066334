#include "tokenizer/sentencepiece_pretokenizer.h"

#include <algorithm>

#include "tokenizer/normalizer.h"

namespace tandem {

std::vector<std::string> split_on(const std::string& text, const std::string& delimiter, SplitBehavior behavior) {
  // The matches and the gaps between them, as Split::find_matches gives them, in bytes.
  std::vector<SplitSpan> matches;
  size_t start = 0;
  for (size_t hit; (hit = text.find(delimiter, start)) != std::string::npos; start = hit + delimiter.size()) {
    if (hit > start) matches.push_back({start, hit, false});
    matches.push_back({hit, hit + delimiter.size(), true});
  }
  if (start < text.size()) matches.push_back({start, text.size(), false});
  std::vector<std::string> pieces;
  for (const auto& p : split_pieces(matches, behavior))
    if (p.end > p.start) pieces.push_back(text.substr(p.start, p.end - p.start));
  return pieces;
}

namespace {

void apply(const SpPreTokenizerStep& step, std::vector<SpPiece>& pieces) {
  // Nothing to split: the pieces stay as they are, without split_on's copies (Gemma's Split on " " comes after its
  // normalizer turned every space into "▁").
  auto holds_delimiter = [&](const SpPiece& p) { return p.text.find(step.text) != std::string::npos; };
  if (step.kind == SpPreTokenizerStep::Kind::kSplit && std::none_of(pieces.begin(), pieces.end(), holds_delimiter))
    return;
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
