#include "tokenizer/unigram.h"

#include <algorithm>

#include "core/check.h"
#include "tokenizer/byte_fallback.h"

namespace tandem {

namespace {
constexpr double kUnknownPenalty = 10.0;  // the HF library's K_UNK_PENALTY

size_t utf8_length(uint8_t lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }
}  // namespace

void UnigramModel::add_piece(const std::string& piece, double score) {
  const int32_t id = int32_t(score_.size());
  min_score_ = score_.empty() ? score : std::min(min_score_, score);
  score_.push_back(score);
  id_[piece] = id;
  int32_t node = 0;
  for (char c : piece) {
    const uint64_t key = (uint64_t(uint32_t(node)) << 8) | uint8_t(c);
    auto [it, added] = trie_.emplace(key, int32_t(node_piece_.size()));
    if (added) node_piece_.push_back(-1);
    node = it->second;
  }
  if (node != 0) node_piece_[size_t(node)] = id;  // an empty piece can never match
}

int32_t UnigramModel::child(int32_t node, uint8_t byte) const {
  auto it = trie_.find((uint64_t(uint32_t(node)) << 8) | byte);
  return it == trie_.end() ? -1 : it->second;
}

int32_t UnigramModel::piece_id(std::string_view piece) const {
  auto it = id_.find(std::string(piece));
  return it == id_.end() ? -1 : it->second;
}

void UnigramModel::encode(std::string_view text, std::vector<int32_t>& out) const {
  struct Best {
    double score = 0;
    int64_t start = -1;  // where the best path's last piece starts; -1: not reached yet
    int32_t id = 0;
  };
  const size_t n = text.size();
  std::vector<Best> best(n + 1);
  auto offer = [&](size_t end, size_t start, double score, int32_t id) {
    Best& b = best[end];
    if (b.start < 0 || score > b.score) b = {score, int64_t(start), id};
  };
  for (size_t start = 0; start < n;) {
    const double here = best[start].score;
    const size_t char_len = std::min(utf8_length(uint8_t(text[start])), n - start);
    bool whole_char = false;
    int32_t node = 0;
    for (size_t end = start; end < n && (node = child(node, uint8_t(text[end]))) >= 0;) {
      ++end;
      const int32_t id = node_piece_[size_t(node)];
      if (id < 0) continue;
      offer(end, start, here + score_[size_t(id)], id);
      whole_char = whole_char || end - start == char_len;
    }
    if (!whole_char) {
      TANDEM_CHECK(unk_id_ >= 0, "Unigram tokenizer: no piece covers ", std::string(text.substr(start, char_len)),
                   " and model.unk_id is null");
      offer(start + char_len, start, here + min_score_ - kUnknownPenalty, unk_id_);
    }
    start += char_len;
  }
  // Back from the end; runs of unknown characters fuse into one string.
  std::vector<std::string_view> pieces;
  size_t unk_begin = n;  // start of the current run of unknowns (n: none)
  size_t end = n;
  auto flush_unknown = [&](size_t run_end) {
    if (unk_begin < run_end) pieces.push_back(text.substr(unk_begin, run_end - unk_begin));
  };
  size_t run_end = n;
  while (end > 0) {
    const Best& b = best[end];
    const size_t start = size_t(b.start);
    if (b.id == unk_id_) {
      if (unk_begin == n || unk_begin != end) run_end = end;
      unk_begin = start;
    } else {
      if (unk_begin != n) flush_unknown(run_end);
      unk_begin = n;
      pieces.push_back(text.substr(start, end - start));
    }
    end = start;
  }
  if (unk_begin != n) flush_unknown(run_end);
  std::reverse(pieces.begin(), pieces.end());

  for (std::string_view piece : pieces) {
    const int32_t id = piece_id(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    if (byte_fallback_) {
      std::vector<int32_t> bytes;
      for (char c : piece) {
        const int32_t b = piece_id(byte_fallback_token(uint8_t(c)));
        if (b < 0) break;
        bytes.push_back(b);
      }
      if (bytes.size() == piece.size()) {
        out.insert(out.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    TANDEM_CHECK(unk_id_ >= 0, "Unigram tokenizer: piece ", std::string(piece), " is unknown and model.unk_id is null");
    out.push_back(unk_id_);
  }
}

}  // namespace tandem
