#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <queue>

#include "core/check.h"
#include "tokenizer/unicode.h"

namespace tandem {

const std::vector<char32_t>& byte_to_unicode() {
  static const std::vector<char32_t> table = [] {
    std::vector<char32_t> t(256);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? char32_t(b) : char32_t(256 + n++);
    }
    return t;
  }();
  return table;
}

std::string byte_level_to_bytes(const std::string& token, const std::string& where) {
  static const std::unordered_map<char32_t, uint8_t> inverse = [] {
    std::unordered_map<char32_t, uint8_t> m;
    for (int b = 0; b < 256; ++b) m[byte_to_unicode()[b]] = uint8_t(b);
    return m;
  }();
  std::string out;
  for (char32_t c : utf8_decode(token)) {
    auto it = inverse.find(c);
    TANDEM_CHECK(it != inverse.end(), where, ": token '", token, "' is not byte-level encoded");
    out += char(it->second);
  }
  return out;
}

int32_t BpeTokenizer::token_id(std::string_view token) const {
  for (const auto& a : added_)
    if (a.content == token) return a.id;
  auto it = vocab_.find(std::string(token));
  if (it != vocab_.end()) return it->second;
  try {
    auto jt = vocab_.find(byte_level_to_bytes(std::string(token), "token_id"));
    return jt == vocab_.end() ? -1 : jt->second;
  } catch (const Error&) {
    return -1;
  }
}

bool BpeTokenizer::is_special(int32_t id) const { return id >= 0 && size_t(id) < special_.size() && special_[id]; }

void BpeTokenizer::encode_piece(const std::string& bytes, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    auto it = vocab_.find(bytes);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  auto cached = cache_.find(bytes);
  if (cached != cache_.end()) {
    out.insert(out.end(), cached->second.begin(), cached->second.end());
    return;
  }
  // Symbols in a linked list; a min-heap of candidate merges by (rank, position), validated when popped.
  const int n = int(bytes.size());
  std::vector<int32_t> id(n);
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    id[i] = byte_id_[uint8_t(bytes[i])];
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int pos;
    int32_t left, right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](int i) {
    if (i < 0 || next[i] < 0) return;
    auto it = merges_.find((uint64_t(uint32_t(id[i])) << 32) | uint32_t(id[next[i]]));
    if (it != merges_.end()) heap.push({it->second.rank, i, id[i], id[next[i]]});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int i = c.pos;
    if (id[i] != c.left || next[i] < 0 || id[next[i]] != c.right) continue;  // stale
    const int j = next[i];
    id[i] = merges_.at((uint64_t(uint32_t(c.left)) << 32) | uint32_t(c.right)).merged;
    id[j] = -1;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    push(prev[i]);
    push(i);
  }
  std::vector<int32_t> ids;
  for (int i = 0; i >= 0; i = next[i]) ids.push_back(id[i]);
  if (cache_.size() > 200000) cache_.clear();
  cache_.emplace(bytes, ids);
  out.insert(out.end(), ids.begin(), ids.end());
}

void BpeTokenizer::encode_segment(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  const std::string normalized = nfc_ ? nfc(text) : std::string(text);
  const std::u32string chars = utf8_decode(normalized);
  std::deque<std::u32string> added_text;  // ByteLevel's prefix spaces
  for (std::u32string_view piece : pre_tokenizer_.run(chars, added_text)) encode_piece(utf8_encode(piece), out);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> out;
  if (add_special_tokens) out = prefix_ids_;
  // Added tokens are matched in the raw text, leftmost and longest first; the text between them is encoded.
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const AddedToken* hit = nullptr;
    for (int k : added_by_first_byte_[uint8_t(text[i])])
      if (text.compare(i, added_[k].content.size(), added_[k].content) == 0) {
        hit = &added_[k];
        break;
      }
    if (!hit) {
      ++i;
      continue;
    }
    size_t seg_end = i, after = i + hit->content.size();
    if (hit->lstrip)
      while (seg_end > start && is_whitespace(char32_t(uint8_t(text[seg_end - 1])))) --seg_end;
    if (hit->rstrip)
      while (after < text.size() && is_whitespace(char32_t(uint8_t(text[after])))) ++after;
    encode_segment(text.substr(start, seg_end - start), out);
    out.push_back(hit->id);
    start = i = after;
  }
  encode_segment(text.substr(start), out);
  if (add_special_tokens) out.insert(out.end(), suffix_ids_.begin(), suffix_ids_.end());
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    TANDEM_CHECK(id >= 0 && id < vocab_size(), "decode: token id ", id, " outside the vocabulary of ", vocab_size());
    if (skip_special_tokens && special_[id]) continue;
    bytes += id_to_token_[id];
  }
  return utf8_encode(utf8_decode(bytes));  // invalid UTF-8 (a split multi-byte char) becomes U+FFFD
}

}  // namespace tandem
