#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <functional>

#include "core/check.h"
#include "tokenizer/bpe_merge.h"
#include "tokenizer/decoder.h"
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

namespace {

// Decodes `s` as utf8_decode does, with the byte offset of each character (and of the end) in `offsets`. True
// when every character re-encodes to the bytes it came from (valid, shortest-form UTF-8): then a run of
// characters is exactly the byte slice between its offsets.
bool decode_with_offsets(std::string_view s, std::u32string& chars, std::vector<uint32_t>& offsets) {
  chars.reserve(s.size());
  offsets.reserve(s.size() + 1);
  bool exact = true;
  for (size_t i = 0, n = 0; i < s.size(); i += n) {
    const char32_t c = utf8_decode_at(s, i, &n);
    exact = exact && n == size_t(c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4);
    chars.push_back(c);
    offsets.push_back(uint32_t(i));
  }
  offsets.push_back(uint32_t(s.size()));
  return exact && s.size() < (size_t(1) << 32);
}

}  // namespace

int32_t BpeTokenizer::token_id(std::string_view token) const {
  for (const auto& a : added_)
    if (a.content == token) return a.id;
  if (const int32_t id = vocab_.find_id(token); id >= 0) return id;
  if (model_ != Model::kByteLevelBpe) return -1;
  try {
    return vocab_.find_id(byte_level_to_bytes(std::string(token), "token_id"));
  } catch (const Error&) {
    return -1;
  }
}

bool BpeTokenizer::is_special(int32_t id) const { return id >= 0 && size_t(id) < special_.size() && special_[id]; }

void BpeTokenizer::initial_symbols(std::string_view piece, std::vector<int32_t>& ids) const {
  ids.clear();
  if (model_ == Model::kByteLevelBpe) {
    for (char c : piece) ids.push_back(byte_id_[uint8_t(c)]);
    return;
  }
  // One symbol per character, as the HF library's BPE::merge_word: a character outside the vocabulary becomes its
  // byte-fallback tokens or, failing that, unk (runs of unknown characters fuse into one unk with fuse_unk). Like
  // the library, a pending unk is emitted only at the next known character or the end.
  bool pending_unk = false;
  for (size_t i = 0; i < piece.size();) {
    const uint8_t lead = uint8_t(piece[i]);
    const size_t len = std::min(piece.size() - i, size_t(lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4));
    const int32_t id = lead < 0x80 ? ascii_id_[lead] : vocab_.find_id(piece.substr(i, len));
    if (id >= 0) {
      if (pending_unk) ids.push_back(unk_id_);
      pending_unk = false;
      ids.push_back(id);
    } else if (byte_fallback_) {  // the reader made sure all 256 byte tokens exist
      for (size_t k = i; k < i + len; ++k) ids.push_back(byte_fallback_id_[uint8_t(piece[k])]);
    } else if (unk_id_ >= 0) {
      if (pending_unk && !fuse_unk_) ids.push_back(unk_id_);
      pending_unk = true;
    }
    i += len;
  }
  if (pending_unk) ids.push_back(unk_id_);
}

void BpeTokenizer::encode_piece(std::string_view piece, uint64_t hash, std::vector<int32_t>& out) const {
  // SentencePiece-style files have no pre-tokenizer splitting text into words, so pieces can be whole paragraphs:
  // only short ones (words) are worth caching, as in the HF library. The cache is looked up first, also for
  // ignore_merges: it holds the pieces seen so far, a table far smaller (and hotter) than the vocabulary.
  const bool cacheable = piece.size() < kMaxCachedPiece;
  if (cacheable) {
    if (const auto cached = cache_.find(piece, hash)) {
      out.insert(out.end(), cached->begin(), cached->end());
      return;
    }
  }
  std::vector<int32_t>& ids = scratch_;
  ids.clear();
  const int32_t whole = ignore_merges_ && model_ != Model::kUnigram ? vocab_.find_id(piece) : -1;
  if (whole >= 0) {
    ids.push_back(whole);
  } else if (model_ == Model::kUnigram) {
    unigram_.encode(piece, ids);
  } else {
    initial_symbols(piece, ids);
    apply_merges(merges_, ids);
  }
  if (cacheable) {
    if (cache_.size() > 200000) cache_.clear();
    cache_.assign(piece, ids);
  }
  out.insert(out.end(), ids.begin(), ids.end());
}

void BpeTokenizer::encode_pieces(const std::vector<std::string_view>& pieces, std::vector<int32_t>& out) const {
  // The cache slot of each piece is fetched kAhead pieces before its lookup, so that the lookups' cache misses
  // overlap instead of coming one after the other.
  constexpr size_t kAhead = 4;
  uint64_t hashes[kAhead];
  auto hash_ahead = [&](size_t k) {
    if (k >= pieces.size() || pieces[k].size() >= kMaxCachedPiece) return;
    hashes[k % kAhead] = StringIdsMap::hash_of(pieces[k]);
    cache_.prefetch(hashes[k % kAhead]);
  };
  for (size_t k = 0; k < kAhead; ++k) hash_ahead(k);
  for (size_t k = 0; k < pieces.size(); ++k) {
    const uint64_t hash = hashes[k % kAhead];
    hash_ahead(k + kAhead);
    encode_piece(pieces[k], hash, out);
  }
}

void BpeTokenizer::split_words(std::string_view t, std::vector<std::string_view>& words) const {
  static const std::string kMeta = "\u2581";
  size_t word = 0;
  for (size_t i = t.find(kMeta, 1); i != std::string::npos; i = t.find(kMeta, i + kMeta.size())) {
    size_t prev = i - 1;  // the character before the "▁"
    while (prev > 0 && (uint8_t(t[prev]) & 0xC0) == 0x80) --prev;
    size_t unused;
    const char32_t before = utf8_decode_at(t, prev, &unused);
    if (before == U'\u2581' ||
        std::find(word_joining_chars_.begin(), word_joining_chars_.end(), before) != word_joining_chars_.end())
      continue;  // "▁▁", or a merge may join the words: one word
    words.push_back(t.substr(word, i - word));
    word = i;
  }
  words.push_back(t.substr(word));
}

void BpeTokenizer::encode_segment(std::string_view text, bool at_input_start, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::vector<std::string_view>& pieces = pieces_;  // what the model encodes, in order (views into the strings below)
  pieces.clear();
  if (model_ != Model::kByteLevelBpe) {
    // Vocabulary pieces are UTF-8 strings, so the text must be too: invalid bytes become U+FFFD first.
    std::string lossy;
    const std::string_view valid = utf8_valid(text) ? text : std::string_view(lossy = utf8_lossy(text));
    std::vector<SpPiece>& sp_pieces = sp_pieces_;
    sp_pieces.assign(1, {normalize(normalizers_, valid), at_input_start});
    sp_pre_tokenize(sp_pre_tokenizers_, sp_pieces);
    for (const SpPiece& piece : sp_pieces) {
      if (model_ == Model::kBpe && words_are_independent_) split_words(piece.text, pieces);
      else pieces.push_back(piece.text);
    }
    encode_pieces(pieces, out);
    return;
  }
  const std::string normalized = normalize(normalizers_, text);
  if (normalized.empty()) return;
  std::u32string chars;
  std::vector<uint32_t> offsets;
  const bool exact = decode_with_offsets(normalized, chars, offsets);
  std::deque<std::u32string> added_text;  // ByteLevel's prefix spaces
  std::deque<std::string> reencoded;
  const std::string_view bytes = normalized;
  for (std::u32string_view piece : pre_tokenizer_.run(chars, added_text)) {
    // A piece inside `chars` is a slice of `normalized` when that re-encodes to itself: no re-encoding needed.
    const bool inside = std::less_equal<>{}(chars.data(), piece.data()) &&
                        std::less_equal<>{}(piece.data() + piece.size(), chars.data() + chars.size());
    if (exact && inside) {
      const size_t at = size_t(piece.data() - chars.data());
      pieces.push_back(bytes.substr(offsets[at], offsets[at + piece.size()] - offsets[at]));
    } else {
      pieces.push_back(reencoded.emplace_back(utf8_encode(piece)));
    }
  }
  encode_pieces(pieces, out);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 16);  // real text takes 3-5 bytes a token: rarely a reallocation
  if (add_special_tokens) out.insert(out.end(), prefix_ids_.begin(), prefix_ids_.end());
  // Added tokens are matched in the raw text, leftmost and longest first; the text between them is encoded.
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const AddedToken* hit = nullptr;
    if (added_starts_with_[uint8_t(text[i])]) {
      // The longest added token at i, walking the trie (Gemma-3 has 6000+ tokens starting with '<').
      int32_t node = 0;
      for (size_t j = i; j < text.size(); ++j) {
        auto it = added_trie_.find((uint64_t(uint32_t(node)) << 8) | uint8_t(text[j]));
        if (it == added_trie_.end()) break;
        node = it->second;
        if (added_at_node_[size_t(node)] >= 0) hit = &added_[size_t(added_at_node_[size_t(node)])];
      }
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
    encode_segment(text.substr(start, seg_end - start), start == 0, out);
    out.push_back(hit->id);
    start = i = after;
  }
  encode_segment(text.substr(start), start == 0, out);
  if (add_special_tokens) out.insert(out.end(), suffix_ids_.begin(), suffix_ids_.end());
  return out;
}

std::string BpeTokenizer::token_string(int32_t id) const {
  const std::string& raw = id_to_token_[size_t(id)];
  if (model_ != Model::kByteLevelBpe) return raw;
  if (vocab_.find_id(raw) != id) return raw;  // an added token: its text
  std::string byte_level;
  for (char c : raw) utf8_append(byte_level, byte_to_unicode()[uint8_t(c)]);
  return byte_level;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  for (int32_t id : ids)
    TANDEM_CHECK(id >= 0 && id < vocab_size(), "decode: token id ", id, " outside the vocabulary of ", vocab_size());
  // An id inside the table that names no token (a gap in the file's ids) is skipped, as the HF library does.
  auto kept = [&](int32_t id) { return !id_to_token_[size_t(id)].empty() && !(skip_special_tokens && special_[size_t(id)]); };
  if (model_ == Model::kByteLevelBpe && (!has_decoder_ || byte_level_decoder_only_)) {
    std::string bytes;
    for (int32_t id : ids)
      if (kept(id)) bytes += id_to_token_[size_t(id)];
    return utf8_encode(utf8_decode(bytes));  // invalid UTF-8 (a split multi-byte char) becomes U+FFFD
  }
  std::vector<std::string> tokens;
  for (int32_t id : ids)
    if (kept(id)) tokens.push_back(token_string(id));
  if (has_decoder_) return run_decoders(decoders_, std::move(tokens));
  std::string joined;  // no decoder: the HF library joins the tokens with spaces
  for (size_t k = 0; k < tokens.size(); ++k) joined += (k ? " " : "") + tokens[k];
  return joined;
}

}  // namespace tandem
