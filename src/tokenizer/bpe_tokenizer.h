// A Hugging Face tokenizer.json: byte-level BPE (Llama-3, Qwen2/Qwen3, GPT-2 families) and SentencePiece-style
// files (Llama-2, Mistral, Gemma: BPE over characters with byte fallback; T5/ALBERT-style Unigram). Added and
// special tokens; normalizers NFC / Prepend / Replace / Sequence; pre-tokenizers ByteLevel with Split regexes,
// Metaspace, Split on a string; merges by rank (ignore_merges honoured); the ByteLevel / TemplateProcessing
// post-processors; the decoders of decoder.h. Unsupported settings are errors naming them; the reader
// (tokenizer_json.cpp) checks every id and type, so a hostile file is an error, never a crash.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/decoder.h"
#include "tokenizer/flat_tables.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/sentencepiece_pretokenizer.h"
#include "tokenizer/unigram.h"

namespace tandem {

class BpeTokenizer {
 public:
  static BpeTokenizer from_file(const std::string& tokenizer_json_path);
  static BpeTokenizer from_json_text(const std::string& text, const std::string& source = "tokenizer.json");

  // add_special_tokens applies the post-processor (e.g. a BOS token), as transformers' encode() does.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  int64_t vocab_size() const { return int64_t(id_to_token_.size()); }
  // Id of a token given as its text (special tokens) or its byte-level form; -1 when absent.
  int32_t token_id(std::string_view token) const;
  bool is_special(int32_t id) const;

 private:
  friend class TokenizerJsonReader;  // fills the tables from tokenizer.json
  struct AddedToken {
    std::string content;
    int32_t id;
    bool special, lstrip, rstrip;
  };
  // kByteLevelBpe: vocabulary strings are GPT-2 byte-level and stored as raw bytes; kBpe: plain UTF-8 strings,
  // characters missing from the vocabulary become byte-fallback tokens or unk; kUnigram: see unigram.h.
  enum class Model { kByteLevelBpe, kBpe, kUnigram };

  void encode_segment(std::string_view text, bool at_input_start, std::vector<int32_t>& out) const;
  void encode_pieces(const std::vector<std::string_view>& pieces, std::vector<int32_t>& out) const;
  // `hash` is StringIdsMap::hash_of(piece) when the piece is short enough to be cached, else unused.
  void encode_piece(std::string_view piece, uint64_t hash, std::vector<int32_t>& out) const;
  // kBpe with words_are_independent_: `text` cut before each "▁" that starts a word (see that member).
  void split_words(std::string_view text, std::vector<std::string_view>& words) const;
  void initial_symbols(std::string_view piece, std::vector<int32_t>& ids) const;
  std::string token_string(int32_t id) const;  // as the decoders see it

  StringIdsMap vocab_;                              // raw bytes -> id (model vocabulary), one id each
  std::vector<std::string> id_to_token_;            // raw bytes, or the text of added tokens
  std::vector<uint8_t> special_;                    // per id
  MergeTable merges_;                               // (left id, right id) -> rank, result
  int32_t byte_id_[256];
  std::vector<AddedToken> added_;                   // longest first
  bool added_starts_with_[256] = {};                // per byte: some added token starts with it
  std::unordered_map<uint64_t, int32_t> added_trie_;  // (node << 8 | byte) -> child; node 0 is the root
  std::vector<int32_t> added_at_node_{-1};            // per trie node: the index into added_ ending there, or -1
  Model model_ = Model::kByteLevelBpe;
  std::vector<NormalizerStep> normalizers_;
  std::vector<SpPreTokenizerStep> sp_pre_tokenizers_;  // kBpe / kUnigram
  std::vector<DecoderStep> decoders_;
  bool has_decoder_ = false;                         // none: tokens are joined with spaces, as in the HF library
  bool byte_level_decoder_only_ = false;             // the byte-level families' decoder: raw bytes, joined
  bool byte_fallback_ = false, fuse_unk_ = false;    // kBpe
  int32_t unk_id_ = -1;                              // kBpe: the unk_token's id, or -1
  int32_t byte_fallback_id_[256];                    // kBpe with byte_fallback: the ids of "<0x00>".."<0xFF>"
  UnigramModel unigram_;
  // kBpe: a merge joins a "▁"-initial symbol to the symbol before it only when that symbol ends in "▁" or in one
  // of word_joining_chars_ (the last characters of the few merges that do). Elsewhere no merge crosses a "▁" that
  // follows another character, so a piece encodes as its words one by one (each cacheable) with the same ids.
  bool words_are_independent_ = false;
  std::vector<char32_t> word_joining_chars_;
  bool ignore_merges_ = false;
  PreTokenizer pre_tokenizer_;                       // byte-level BPE: Split / ByteLevel steps, in tokenizer.json order
  std::vector<int32_t> prefix_ids_, suffix_ids_;    // TemplateProcessing "single"
  int32_t ascii_id_[128];                            // kBpe: the vocabulary id of each ASCII character, or -1
  static constexpr size_t kMaxCachedPiece = 256;     // bytes, as the HF library's MAX_LENGTH
  mutable StringIdsMap cache_;                       // piece -> ids, for pieces under kMaxCachedPiece bytes
  mutable std::vector<int32_t> scratch_;             // encode_piece's symbols (no allocation per piece)
  mutable std::vector<std::string_view> pieces_;     // encode_segment's pieces (no allocation per segment)
  mutable std::vector<SpPiece> sp_pieces_;           // the same for the SentencePiece-style pre-tokenizers
};

// GPT-2's byte <-> printable-character map used by byte-level vocabularies.
const std::vector<char32_t>& byte_to_unicode();
// A byte-level token string ("Ġthe") back to raw bytes (" the"); an error naming `where` when it is not byte-level.
std::string byte_level_to_bytes(const std::string& token, const std::string& where);

}  // namespace tandem
