// Pre-tokenizers of the SentencePiece-style files, on UTF-8 pieces: Metaspace (spaces become "▁", an optional
// leading "▁", splits before each "▁") and Split on a literal string whose matches join the piece before them
// (Gemma-3) or after them. Semantics are those of the HF tokenizers library (pre_tokenizers/metaspace.rs and
// SplitDelimiterBehavior in tokenizer/normalizer.rs).
#pragma once
#include <string>
#include <vector>

#include "tokenizer/pretokenizer.h"  // SplitBehavior

namespace tandem {

enum class PrependScheme { kFirst, kAlways, kNever };

struct SpPreTokenizerStep {
  enum class Kind { kMetaspace, kSplit };
  Kind kind;
  std::string text;  // kMetaspace: the replacement character (UTF-8); kSplit: the (non-empty) pattern
  PrependScheme prepend = PrependScheme::kAlways;  // kMetaspace
  bool split = true;                               // kMetaspace: split before each replacement character
  SplitBehavior behavior = SplitBehavior::kMergedWithPrevious;  // kSplit: kMergedWithPrevious or kMergedWithNext
};

struct SpPiece {
  std::string text;
  bool at_input_start;  // begins at offset 0 of the encoded text (Metaspace's "first" prepends only there)
};

// Applies the steps in order, each to every piece; empty pieces are dropped.
void sp_pre_tokenize(const std::vector<SpPreTokenizerStep>& steps, std::vector<SpPiece>& pieces);

// `text` cut at each occurrence of `delimiter`, the delimiter treated as `behavior` says (merged: joining the piece
// before or after it; a delimiter next to another stands alone, as in the HF library). Split::literal's semantics
// (the same split_pieces) with a byte search, on UTF-8: the SentencePiece-style pieces are UTF-8 throughout.
std::vector<std::string> split_on(const std::string& text, const std::string& delimiter, SplitBehavior behavior);

}  // namespace tandem
