// The Unigram model of tokenizer.json (T5, ALBERT, XLM-R style SentencePiece): the pieces of a pre-token are the
// segmentation with the highest total score (Viterbi over a byte trie of the pieces). A character no piece starts
// with is unknown, scored min_score - 10; adjacent unknowns fuse into one and become byte-fallback tokens or unk.
// This is the HF library's Unigram::encode_optimized + tokenize (models/unigram/model.rs), including its ties:
// the first segmentation found (earlier start, then shorter piece) wins.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem {

class UnigramModel {
 public:
  // Pieces in id order; a repeated piece string resolves to its last id, as in the HF library.
  void add_piece(const std::string& piece, double score);
  void set_unk_id(int32_t unk_id) { unk_id_ = unk_id; }  // -1: none (an unknown character is then an error)
  void set_byte_fallback(bool on) { byte_fallback_ = on; }
  bool empty() const { return score_.empty(); }

  // Appends the ids of `text` (valid UTF-8, non-empty).
  void encode(std::string_view text, std::vector<int32_t>& out) const;
  int32_t piece_id(std::string_view piece) const;  // -1 when absent

 private:
  int32_t child(int32_t node, uint8_t byte) const;

  std::vector<double> score_;                    // per id
  std::unordered_map<std::string, int32_t> id_;  // piece -> last id
  std::unordered_map<uint64_t, int32_t> trie_;   // (node << 8 | byte) -> child node; node 0 is the root
  std::vector<int32_t> node_piece_{-1};          // per trie node: the id of the piece ending there, or -1
  double min_score_ = 0;
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
};

}  // namespace tandem
