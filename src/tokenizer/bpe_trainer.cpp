#include "tokenizer/bpe_trainer.h"

#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/check.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {
std::string to_byte_level(const std::string& bytes) {
  std::string out;
  for (char c : bytes) utf8_append(out, byte_to_unicode()[uint8_t(c)]);
  return out;
}
}  // namespace

std::string train_bpe(const std::vector<std::string>& texts, const BpeTrainerOptions& o) {
  const int64_t base = int64_t(o.special_tokens.size()) + 256;
  TANDEM_CHECK(o.vocab_size >= base, "train_bpe: vocab_size ", o.vocab_size, " is smaller than the ", base,
               " special and byte tokens");
  // Word frequencies over pre-tokenized pieces.
  std::unordered_map<std::string, int64_t> freq;
  for (const auto& text : texts) {
    // Named: the pieces are views into it (a temporary in the loop header would die before they are read).
    const std::u32string decoded = utf8_decode(text);
    for (auto piece : pre_tokenize(decoded, o.pattern)) ++freq[utf8_encode(piece)];
  }

  // Tokens: special ones first, then the 256 bytes, then one per merge. Words are sequences of token ids.
  std::vector<std::string> tokens(o.special_tokens.begin(), o.special_tokens.end());
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, char(b)));
  const int32_t first_byte = int32_t(o.special_tokens.size());
  std::vector<std::pair<std::vector<int32_t>, int64_t>> words;
  for (const auto& [w, n] : freq) {
    std::vector<int32_t> ids;
    for (char c : w) ids.push_back(first_byte + uint8_t(c));
    words.emplace_back(std::move(ids), n);
  }
  std::vector<std::pair<int32_t, int32_t>> merges;
  while (int64_t(tokens.size()) < o.vocab_size) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pairs;  // ordered: ties resolve to the smallest pair
    for (const auto& [ids, n] : words)
      for (size_t i = 0; i + 1 < ids.size(); ++i) pairs[{ids[i], ids[i + 1]}] += n;
    std::pair<int32_t, int32_t> best{-1, -1};
    int64_t best_count = 0;
    for (const auto& [p, n] : pairs)
      if (n > best_count) best = p, best_count = n;
    if (best_count < std::max<int64_t>(o.min_frequency, 1)) break;
    const int32_t merged = int32_t(tokens.size());
    tokens.push_back(tokens[best.first] + tokens[best.second]);
    merges.push_back(best);
    for (auto& [ids, n] : words) {
      std::vector<int32_t> out;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i + 1 < ids.size() && ids[i] == best.first && ids[i + 1] == best.second) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(ids[i]);
        }
      }
      ids = std::move(out);
    }
  }

  nlohmann::json vocab = nlohmann::json::object(), merge_list = nlohmann::json::array(), added = nlohmann::json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool special = i < o.special_tokens.size();
    vocab[special ? tokens[i] : to_byte_level(tokens[i])] = i;
    if (special)
      added.push_back({{"id", i}, {"content", tokens[i]}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", true}});
  }
  for (const auto& [a, b] : merges) merge_list.push_back(to_byte_level(tokens[a]) + " " + to_byte_level(tokens[b]));
  const nlohmann::json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  const nlohmann::json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", split_regex(o.pattern)}}}, {"behavior", "Isolated"}, {"invert", false}},
          byte_level}}}},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
        {"vocab", vocab}, {"merges", merge_list}}}};
  return j.dump(1);
}

}  // namespace tandem
