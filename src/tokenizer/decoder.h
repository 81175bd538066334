// Decoders of tokenizer.json: the token strings of the ids pass through each step in order and are then joined,
// as the HF library's decode() does (decoders/*.rs): Replace (a literal string), ByteFallback ("<0x41>" tokens
// back to bytes), Fuse (join), Strip (a character at the start / end of each token), Metaspace ("▁" to " ") and
// ByteLevel (GPT-2's byte map back to bytes).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/sentencepiece_pretokenizer.h"

namespace tandem {

struct DecoderStep {
  enum class Kind { kReplace, kByteFallback, kFuse, kStrip, kMetaspace, kByteLevel };
  Kind kind;
  std::string text;     // kReplace: the (non-empty) pattern; kStrip / kMetaspace: the character (UTF-8)
  std::string content;  // kReplace: its replacement
  size_t start = 0, stop = 0;  // kStrip: how many leading / trailing characters may go
  PrependScheme prepend = PrependScheme::kAlways;  // kMetaspace: all but kNever drop the first token's "▁"
};

std::string run_decoders(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens);

// Bytes to UTF-8 with each maximal invalid subsequence replaced by one U+FFFD (Rust's String::from_utf8_lossy).
std::string utf8_lossy(std::string_view bytes);
// True when `bytes` is valid UTF-8 (utf8_lossy would return it unchanged).
bool utf8_valid(std::string_view bytes);

}  // namespace tandem
