// BpeTokenizer::from_file / from_json_text: a tokenizer.json read with the checks a hostile file needs. Ids index
// the id -> token table, so each is an integer in [0, kMaxTokenId] that names one token only; merges name tokens of
// the vocabulary; every field has the JSON type it should. Errors name the file and the token or id.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/byte_fallback.h"
#include "tokenizer/tokenizer_json_components.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {

using nlohmann::json;

// Ids index a table of strings: 2^21 slots (64 MB of empty strings at worst) is eight times the largest real
// vocabulary, so a larger id is a corrupt or hostile file, not a model.
constexpr int64_t kMaxTokenId = (int64_t(1) << 21) - 1;

// A token quoted for an error message: JSON-escaped (control bytes, invalid UTF-8) and shortened.
std::string quoted(const std::string& token) { return json_excerpt(json(token)); }

// Whether every character of `token` is one of the 256 byte-level characters.
bool is_byte_level(const std::string& token) {
  for (char32_t c : utf8_decode(token))
    if (std::find(byte_to_unicode().begin(), byte_to_unicode().end(), c) == byte_to_unicode().end()) return false;
  return true;
}

void expect(bool ok, const std::string& source, const std::string& what) { TANDEM_CHECK(ok, source, ": ", what); }

}  // namespace

class TokenizerJsonReader {
 public:
  TokenizerJsonReader(BpeTokenizer& t, const std::string& source) : t_(t), source_(source) {}

  void read(const json& j) {
    TANDEM_CHECK(j.is_object(), source_, ": expected a JSON object, got ", json_excerpt(j));
    const auto& model = j.at("model");
    const auto& pre = j.at("pre_tokenizer");
    TANDEM_CHECK(model.is_object(), source_, ": model must be an object, got ", json_excerpt(model));
    const std::string type = json_get<std::string>(model, "type", source_ + ": model");
    if (type == "Unigram") {
      t_.model_ = BpeTokenizer::Model::kUnigram;
      read_unigram(model);
    } else {
      expect(type == "BPE", source_, "model.type '" + type + "' is not supported (BPE or Unigram)");
      // HF has no byte-level model: a ByteLevel pre-tokenizer makes BPE byte-level. Without one, BPE runs over
      // characters (SentencePiece-style: Llama-2, Mistral, Gemma).
      t_.model_ = has_byte_level_step(pre) ? BpeTokenizer::Model::kByteLevelBpe : BpeTokenizer::Model::kBpe;
      read_model_settings(model);
      read_vocab(model.at("vocab"), added_contents(j.value("added_tokens", json::array())));
      read_merges(model.at("merges"));
      read_unk_and_byte_fallback(model);
    }
    read_added_tokens(j.value("added_tokens", json::array()));
    t_.normalizers_ = read_normalizers(j.value("normalizer", json()), source_);
    if (t_.model_ == BpeTokenizer::Model::kByteLevelBpe)
      read_pre_tokenizer(pre);
    else
      t_.sp_pre_tokenizers_ = read_sp_pre_tokenizers(pre, source_);
    read_post_processor(j);
    read_decoder(j.value("decoder", json()));
  }

 private:
  // The id `value` gives `token` in `section`: an integer in [0, kMaxTokenId].
  int32_t id_of(const json& value, const std::string& section, const std::string& token) const {
    const bool ok = value.is_number_unsigned() && value.get<uint64_t>() <= uint64_t(kMaxTokenId);
    TANDEM_CHECK(ok, source_, ": ", section, " token ", quoted(token), " has id ", json_excerpt(value),
                 "; ids must be integers in [0, ", kMaxTokenId, "]");
    return int32_t(value.get<uint64_t>());
  }

  // Makes `id` name `text`; an id already naming another text is an error (decoding it would be ambiguous).
  void name_id(int32_t id, const std::string& text, const std::string& section) {
    if (int64_t(t_.id_to_token_.size()) <= id) {
      t_.id_to_token_.resize(size_t(id) + 1);
      t_.special_.resize(size_t(id) + 1, 0);
    }
    std::string& slot = t_.id_to_token_[size_t(id)];
    TANDEM_CHECK(slot.empty() || slot == text, source_, ": ", section, " token ", quoted(text), " has id ", id,
                 ", which already names token ", quoted(slot));
    slot = text;
  }

  void read_model_settings(const json& model) {
    t_.byte_fallback_ = json_get_or<bool>(model, "byte_fallback", false, source_ + ": model");
    expect(!t_.byte_fallback_ || t_.model_ == BpeTokenizer::Model::kBpe, source_,
           "model.byte_fallback true is not supported with a ByteLevel pre-tokenizer (its vocabulary has all bytes)");
    t_.fuse_unk_ = json_get_or<bool>(model, "fuse_unk", false, source_ + ": model");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
      expect(!model.contains(key) || model[key].is_null() || model[key] == "", source_,
             std::string("model.") + key + " is not supported");
    expect(!model.contains("dropout") || model["dropout"].is_null(), source_, "BPE dropout is not supported");
    t_.ignore_merges_ = model.value("ignore_merges", false);
    t_.words_are_independent_ = !t_.ignore_merges_;  // ignore_merges looks the whole piece up first
  }

  // The contents of added_tokens (their checks come in read_added_tokens).
  static std::unordered_set<std::string> added_contents(const json& list) {
    std::unordered_set<std::string> out;
    if (list.is_array())
      for (const auto& a : list)
        if (a.is_object() && a.contains("content") && a["content"].is_string())
          out.insert(a["content"].get<std::string>());
    return out;
  }

  // Vocabulary: byte-level strings (or, for kBpe, plain UTF-8 strings) -> ids. In a byte-level vocabulary, a token
  // that is not byte-level (DeepSeek-V3 lists its special tokens as plain text) must be an added token: it is
  // matched as such, never built by merges.
  void read_vocab(const json& vocab, const std::unordered_set<std::string>& added) {
    const bool byte_level = t_.model_ == BpeTokenizer::Model::kByteLevelBpe;
    TANDEM_CHECK(vocab.is_object(), source_, ": model.vocab must be an object of token -> id, got ",
                 json_excerpt(vocab));
    for (const auto& [token, id_value] : vocab.items()) {
      TANDEM_CHECK(!token.empty(), source_, ": model.vocab holds an empty token");
      const int32_t id = id_of(id_value, "model.vocab", token);
      const bool plain = !byte_level || (added.count(token) && !is_byte_level(token));
      const std::string bytes = plain ? token : byte_level_to_bytes(token, source_);
      name_id(id, bytes, "model.vocab");
      t_.vocab_.assign(bytes, {&id, 1});
    }
    for (int b = 0; byte_level && b < 256; ++b) {
      const int32_t id = t_.vocab_.find_id(std::string(1, char(b)));
      expect(id >= 0, source_, "vocabulary lacks byte " + std::to_string(b) + " (not byte-level BPE?)");
      t_.byte_id_[b] = id;
    }
    for (int c = 0; c < 128; ++c) t_.ascii_id_[c] = t_.vocab_.find_id(std::string(1, char(c)));
  }

  void read_merges(const json& merges) {
    TANDEM_CHECK(merges.is_array(), source_, ": model.merges must be an array, got ", json_excerpt(merges));
    int32_t rank = 0;
    for (const auto& m : merges) {
      std::string a, b;
      if (m.is_string()) {  // "a b"
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ');
        expect(sp != std::string::npos, source_, "merge " + quoted(s) + " is not two tokens");
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else {  // ["a", "b"]
        TANDEM_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(), source_, ": merge ",
                     rank, " must be \"a b\" or [\"a\", \"b\"], got ", json_excerpt(m));
        a = m[0].get<std::string>();
        b = m[1].get<std::string>();
      }
      const bool byte_level = t_.model_ == BpeTokenizer::Model::kByteLevelBpe;
      const std::string ab = byte_level ? byte_level_to_bytes(a, source_) : a;
      const std::string bb = byte_level ? byte_level_to_bytes(b, source_) : b;
      const int32_t ia = t_.vocab_.find_id(ab), ib = t_.vocab_.find_id(bb), ic = t_.vocab_.find_id(ab + bb);
      const std::string missing = ia < 0 ? a : ib < 0 ? b : a + b;
      expect(ia >= 0 && ib >= 0 && ic >= 0, source_,
             "merge " + quoted(a + " " + b) + " uses token " + quoted(missing) + ", which is not in model.vocab");
      t_.merges_.insert(ia, ib, {rank++, ic});  // a repeated pair keeps its first rank
      // A merge whose right side starts with "▁" and whose left side does not end with one joins a word to the
      // next (Gemma-3 has one: ">" + "▁</"); see BpeTokenizer::words_are_independent_.
      static const std::string kMeta = "\u2581";
      if (b.compare(0, kMeta.size(), kMeta) == 0 &&
          (a.size() < kMeta.size() || a.compare(a.size() - kMeta.size(), kMeta.size(), kMeta) != 0))
        word_joining_lefts_.push_back(a);
    }
  }

  // kBpe: unk_token names a vocabulary token; byte_fallback needs the 256 tokens "<0x00>".."<0xFF>" (real files
  // have them all; requiring them keeps encoding free of a second fallback path).
  void read_unk_and_byte_fallback(const json& model) {
    const std::string unk = json_get_or<std::string>(model, "unk_token", "", source_ + ": model");
    if (t_.model_ == BpeTokenizer::Model::kByteLevelBpe) return;  // every byte is a token: unk is never used
    if (!unk.empty()) {
      t_.unk_id_ = t_.vocab_.find_id(unk);
      TANDEM_CHECK(t_.unk_id_ >= 0, source_, ": model.unk_token ", quoted(unk), " is not in model.vocab");
    }
    // Words encode one by one unless a word-joining merge starts from a byte-fallback or unk symbol, whose text is
    // not the text it covers, or "▁" itself is not a token (it would be unk, fused with its neighbours, or bytes).
    if (t_.vocab_.find_id("\u2581") < 0) t_.words_are_independent_ = false;
    for (const std::string& a : word_joining_lefts_) {
      if (byte_of_fallback_token(a) || a == unk) t_.words_are_independent_ = false;
      const std::u32string chars = utf8_decode(a);
      t_.word_joining_chars_.push_back(chars.empty() ? U'\0' : chars.back());
    }
    for (int b = 0; t_.byte_fallback_ && b < 256; ++b) {
      const std::string name = byte_fallback_token(uint8_t(b));
      t_.byte_fallback_id_[b] = t_.vocab_.find_id(name);
      TANDEM_CHECK(t_.byte_fallback_id_[b] >= 0, source_,
                   ": model.byte_fallback is true but model.vocab lacks the byte token ", quoted(name));
    }
  }

  // Unigram: vocab is [[piece, score], ...] with ids by position; unk_id null or an index; byte_fallback.
  void read_unigram(const json& model) {
    for (const auto& [key, value] : model.items())
      TANDEM_CHECK(key == "type" || key == "vocab" || key == "unk_id" || key == "byte_fallback", source_,
                   ": model (Unigram) has key '", key, "', which is not supported");
    const json& vocab = model.at("vocab");
    TANDEM_CHECK(vocab.is_array() && !vocab.empty(), source_,
                 ": model.vocab of a Unigram model must be a non-empty array of [piece, score], got ",
                 json_excerpt(vocab));
    TANDEM_CHECK(vocab.size() <= size_t(kMaxTokenId) + 1, source_, ": model.vocab has ", vocab.size(),
                 " pieces, more than ", kMaxTokenId + 1);
    for (size_t id = 0; id < vocab.size(); ++id) {
      const json& entry = vocab[id];
      TANDEM_CHECK(entry.is_array() && entry.size() == 2 && entry[0].is_string(), source_, ": model.vocab entry ", id,
                   " must be [piece, score], got ", json_excerpt(entry));
      const std::string piece = entry[0].get<std::string>();
      TANDEM_CHECK(!piece.empty(), source_, ": model.vocab entry ", id, " is an empty piece");
      const bool finite = entry[1].is_number() && std::isfinite(entry[1].get<double>());
      TANDEM_CHECK(finite, source_, ": model.vocab piece ", quoted(piece), " (id ", id,
                   ") has score ", json_excerpt(entry[1]), "; scores must be finite numbers");
      name_id(int32_t(id), piece, "model.vocab");
      const int32_t piece_id = int32_t(id);
      t_.vocab_.assign(piece, {&piece_id, 1});  // a repeated piece resolves to its last id, as in the HF library
      t_.unigram_.add_piece(piece, entry[1].get<double>());
    }
    const json unk = model.value("unk_id", json());
    if (!unk.is_null()) {
      const bool ok = unk.is_number_unsigned() && unk.get<uint64_t>() < vocab.size();
      TANDEM_CHECK(ok, source_, ": model.unk_id is ", json_excerpt(unk), "; it must be null or an index into ",
                   "model.vocab, [0, ", vocab.size() - 1, "]");
      t_.unigram_.set_unk_id(int32_t(unk.get<uint64_t>()));
    }
    t_.unigram_.set_byte_fallback(json_get_or<bool>(model, "byte_fallback", false, source_ + ": model"));
  }

  // Decoder: the byte-level families' ByteLevel keeps the raw-byte path; anything else runs decoder.h.
  void read_decoder(const json& decoder) {
    t_.decoders_ = read_decoders(decoder, source_);
    t_.has_decoder_ = !decoder.is_null();
    t_.byte_level_decoder_only_ =
        t_.has_decoder_ && std::all_of(t_.decoders_.begin(), t_.decoders_.end(), [](const DecoderStep& d) {
          return d.kind == DecoderStep::Kind::kByteLevel;
        });
  }

  void read_added_tokens(const json& list) {
    TANDEM_CHECK(list.is_array(), source_, ": added_tokens must be an array, got ", json_excerpt(list));
    std::unordered_map<std::string, int32_t> added_ids;  // content -> id, to find a token listed with two ids
    for (const auto& a : list) {
      TANDEM_CHECK(a.is_object(), source_, ": added_tokens entry must be an object, got ", json_excerpt(a));
      const std::string content = json_get<std::string>(a, "content", source_ + ": added_tokens");
      TANDEM_CHECK(!content.empty(), source_, ": added_tokens holds an empty token");
      const int32_t id = id_of(a.contains("id") ? a["id"] : json(), "added_tokens", content);
      const int32_t in_vocab = t_.vocab_.find_id(content);
      TANDEM_CHECK(in_vocab < 0 || in_vocab == id, source_, ": added_tokens token ", quoted(content), " has id ", id,
                   ", but model.vocab gives it id ", in_vocab);
      const auto [seen, first] = added_ids.emplace(content, id);
      TANDEM_CHECK(first || seen->second == id, source_, ": added_tokens token ", quoted(content), " has two ids, ",
                   seen->second, " and ", id);
      name_id(id, content, "added_tokens");
      const bool special = a.value("special", false);
      t_.special_[size_t(id)] = special;
      t_.added_.push_back({content, id, special, a.value("lstrip", false), a.value("rstrip", false)});
    }
    std::stable_sort(t_.added_.begin(), t_.added_.end(), [](const auto& x, const auto& y) {
      return x.content.size() > y.content.size();
    });
    for (size_t k = 0; k < t_.added_.size(); ++k) {
      const std::string& content = t_.added_[k].content;
      t_.added_starts_with_[uint8_t(content[0])] = true;
      int32_t node = 0;
      for (char c : content) {
        auto [it, added] = t_.added_trie_.emplace((uint64_t(uint32_t(node)) << 8) | uint8_t(c),
                                                  int32_t(t_.added_at_node_.size()));
        if (added) t_.added_at_node_.push_back(-1);
        node = it->second;
      }
      if (t_.added_at_node_[size_t(node)] < 0) t_.added_at_node_[size_t(node)] = int32_t(k);  // longest-first order
    }
  }

  // Pre-tokenizer: ByteLevel, Split (any regex or string, any behavior), Digits, Punctuation, or a Sequence of them.
  void read_pre_tokenizer(const json& pre) {
    const std::string type = pre.value("type", "");
    if (type != "Sequence") return read_pre_tokenizer_step(pre);
    for (const auto& p : pre.at("pretokenizers")) read_pre_tokenizer_step(p);
  }

  void read_pre_tokenizer_step(const json& p) {
    const std::string type = p.value("type", "");
    const std::string where = source_ + ": pre_tokenizer " + type;
    if (type == "ByteLevel") {
      t_.pre_tokenizer_.add_byte_level(json_get_or<bool>(p, "add_prefix_space", false, where),
                                       json_get_or<bool>(p, "use_regex", true, where));
    } else if (type == "Split") {
      const auto behavior = split_behavior_from_name(json_get<std::string>(p, "behavior", where));
      const bool invert = json_get_or<bool>(p, "invert", false, where);
      const json& pattern = p.at("pattern");
      if (pattern.contains("Regex")) {
        t_.pre_tokenizer_.add_split(Split::regex(json_get<std::string>(pattern, "Regex", where), behavior, invert));
      } else {
        TANDEM_CHECK(pattern.contains("String"), where, ": pattern must be {\"Regex\": ...} or {\"String\": ...}, got ",
                     json_excerpt(pattern));
        t_.pre_tokenizer_.add_split(Split::literal(json_get<std::string>(pattern, "String", where), behavior, invert));
      }
    } else if (type == "Digits") {  // char::is_numeric, one piece per digit or per run of digits
      const bool individual = json_get_or<bool>(p, "individual_digits", false, where);
      t_.pre_tokenizer_.add_split(
          Split::regex("\\p{N}", individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false));
    } else if (type == "Punctuation") {  // is_ascii_punctuation || is_punctuation, one piece per character
      const auto behavior = split_behavior_from_name(json_get_or<std::string>(p, "behavior", "Isolated", where));
      t_.pre_tokenizer_.add_split(Split::regex("[\\p{P}!-/:-@\\[-`{-~]", behavior, false));
    } else {
      fail(source_, ": pre_tokenizer '", type, "' is not supported (ByteLevel, Split, Digits, Punctuation, Sequence)");
    }
  }

  // Post-processor: ByteLevel changes no ids; TemplateProcessing adds special tokens around a single sequence.
  // A Sequence of them (Llama-3.1: ByteLevel then TemplateProcessing) applies each.
  void read_post_processor(const json& j) {
    if (!j.contains("post_processor") || j["post_processor"].is_null()) return;
    const auto& post = j["post_processor"];
    if (post.value("type", "") != "Sequence") return read_processor(post);
    for (const auto& p : post.at("processors")) read_processor(p);
  }

  void read_processor(const json& post) {
    const std::string type = post.value("type", "");
    if (type != "TemplateProcessing") {
      expect(type == "ByteLevel", source_, "post_processor '" + type + "' is not supported");
      return;
    }
    bool seen_sequence = false;
    for (const auto& piece : post.at("single")) {
      if (piece.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
      const int32_t id = id_of(post.at("special_tokens").at(name).at("ids").at(0), "post_processor", name);
      TANDEM_CHECK(id < t_.vocab_size() && !t_.id_to_token_[size_t(id)].empty(), source_, ": post_processor token ",
                   quoted(name), " has id ", id, ", which names no token");
      (seen_sequence ? t_.suffix_ids_ : t_.prefix_ids_).push_back(id);
    }
  }

  BpeTokenizer& t_;
  const std::string& source_;
  std::vector<std::string> word_joining_lefts_;  // left sides of merges that join a word to the next
};

BpeTokenizer BpeTokenizer::from_file(const std::string& path) { return from_json_text(read_file(path), path); }

BpeTokenizer BpeTokenizer::from_json_text(const std::string& text, const std::string& source) {
  const json j = parse_json(text, source);
  BpeTokenizer t;
  naming_json_errors(source, [&] { TokenizerJsonReader(t, source).read(j); });
  return t;
}

}  // namespace tandem
