// SentencePiece-style tokenizers against the Hugging Face tokenizers library (Rust, via node): the real Llama-2 and
// Gemma-3 tokenizer.json files (byte-fallback BPE; npm @lenml/tokenizer-*) and the variants of
// tests/hf/make_variants.mjs (a Unigram model with and without byte fallback, Llama-2 with a Metaspace
// pre-tokenizer), over tests/hf/corpus.json. Ids with and without special tokens, and decode() with and without
// skip_special_tokens, must be identical (exact strings, no tolerance). References: tests/hf/make_reference.sh.
// The component tests below take their expected values from the HF library's own tests and documentation.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_fallback.h"
#include "tokenizer/decoder.h"
#include "tokenizer/sentencepiece_pretokenizer.h"
#include "tokenizer/unigram.h"

namespace tandem {
namespace {

using nlohmann::json;

std::string sentencepiece_path(const std::string& name) {
  if (name == "llama2" || name == "gemma3")
    return std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-" + name + "/models/tokenizer.json";
  return std::string(TANDEM_REFERENCE_DIR) + "/tokenizer_" + name + ".json";  // written by make_variants.mjs
}

class SentencePieceParity : public ::testing::TestWithParam<std::string> {};

TEST_P(SentencePieceParity, IdsAndDecodingMatchHuggingFaceTokenizers) {
  const std::string name = GetParam();
  const BpeTokenizer tok = BpeTokenizer::from_file(sentencepiece_path(name));
  const json corpus = json::parse(read_file(std::string(TANDEM_HF_DIR) + "/corpus.json"));
  const json ref = json::parse(read_file(std::string(TANDEM_REFERENCE_DIR) + "/tokens_" + name + ".json"));
  ASSERT_EQ(corpus.size(), ref["ids"].size());
  std::vector<int32_t> byte_tokens;
  for (int b = 0; b < 256; ++b) byte_tokens.push_back(tok.token_id(byte_fallback_token(uint8_t(b))));
  size_t byte_fallback_texts = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string text = corpus[i].get<std::string>();
    const auto ids = tok.encode(text);
    EXPECT_EQ(ids, ref["ids"][i].get<std::vector<int32_t>>()) << name << " text " << i << ": " << text;
    const auto with_special = ref["with_special"][i].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(text, true), with_special) << name << " text " << i;
    EXPECT_EQ(tok.decode(with_special), ref["decoded"][i].get<std::string>()) << name << " text " << i;
    EXPECT_EQ(tok.decode(with_special, true), ref["decoded_skip_special"][i].get<std::string>()) << name << " " << i;
    std::vector<int32_t> reversed(with_special.rbegin(), with_special.rend());
    EXPECT_EQ(tok.decode(reversed), ref["decoded_reversed"][i].get<std::string>()) << name << " text " << i;
    byte_fallback_texts += std::any_of(ids.begin(), ids.end(), [&](int32_t id) {
      return std::find(byte_tokens.begin(), byte_tokens.end(), id) != byte_tokens.end();
    });
  }
  // The corpus must exercise byte fallback (emoji, rare scripts) on the models that have it.
  if (name != "unigram_unk") {
    EXPECT_GT(byte_fallback_texts, 0u) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(RealAndDerivedTokenizers, SentencePieceParity,
                         ::testing::Values("llama2", "gemma3", "unigram", "unigram_unk", "llama2_metaspace"));

// Without a "▁" token, "▁" is an unknown character fused with its unknown neighbours, so text must not be cut into
// words there. Expected ids from the HF library (node binding) on this same file: "x x" -> [0], "xa xa" -> [0,1,0,1].
TEST(SentencePieceBpe, UnknownMetaspaceFusesAcrossWords) {
  const json j = {{"model", {{"type", "BPE"}, {"vocab", {{"<unk>", 0}, {"a", 1}}}, {"merges", json::array()},
                             {"unk_token", "<unk>"}, {"fuse_unk", true}}},
                  {"normalizer", {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}},
                  {"pre_tokenizer", nullptr}};
  const BpeTokenizer tok = BpeTokenizer::from_json_text(j.dump());
  EXPECT_EQ(tok.encode("x x"), (std::vector<int32_t>{0}));
  EXPECT_EQ(tok.encode("a x"), (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(tok.encode("xa xa"), (std::vector<int32_t>{0, 1, 0, 1}));
}

// Expected splits from the HF library's tests (pre_tokenizers/metaspace.rs, split.rs).
TEST(SentencePiecePreTokenizer, MetaspaceSplitsBeforeEachReplacement) {
  std::vector<SpPiece> pieces{{"Hey   friend!", true}};
  sp_pre_tokenize({{SpPreTokenizerStep::Kind::kMetaspace, "\u2581", PrependScheme::kAlways, true}}, pieces);
  std::vector<std::string> texts;
  for (const auto& p : pieces) texts.push_back(p.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"\u2581Hey", "\u2581", "\u2581", "\u2581friend!"}));
}

TEST(SentencePiecePreTokenizer, SplitMergedWithPreviousAndNext) {
  // split.rs: "How are you doing?" on " "; a delimiter after a delimiter stands alone.
  EXPECT_EQ(split_on("How are you doing?", " ", SplitBehavior::kMergedWithPrevious),
            (std::vector<std::string>{"How ", "are ", "you ", "doing?"}));
  EXPECT_EQ(split_on("How are you doing?", " ", SplitBehavior::kMergedWithNext),
            (std::vector<std::string>{"How", " are", " you", " doing?"}));
  EXPECT_EQ(split_on("a  b", " ", SplitBehavior::kMergedWithPrevious), (std::vector<std::string>{"a ", " ", "b"}));
}

TEST(UnigramModel, ViterbiAndFusedUnknownsAsDocumented) {
  // The example of the HF library's Unigram::encode doc comment: "abcdacdxx" -> abcd, a, cd, xx (xx fused unk).
  UnigramModel m;
  const std::vector<std::pair<std::string, double>> pieces{{"<unk>", 0}, {"a", 0},  {"b", 0},   {"c", 0},   {"d", 0},
                                                           {"cd", 1},    {"ab", 2}, {"abc", 5}, {"abcd", 10}};
  for (const auto& [p, s] : pieces) m.add_piece(p, s);
  m.set_unk_id(0);
  std::vector<int32_t> ids;
  m.encode("abcdacdxx", ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{8, 1, 5, 0}));
}

TEST(Decoders, ByteFallbackInvalidUtf8BecomesOneReplacementPerByte) {
  // decoders/byte_fallback.rs tests: "<0xE5>" alone is invalid -> "�"; "<0xE5><0x8f><0xab>" -> "叫"; "<0xE5>",
  // "<0xE5>" -> two "�".
  const std::vector<DecoderStep> steps{{DecoderStep::Kind::kByteFallback, "", ""}};
  EXPECT_EQ(run_decoders(steps, {"<0xE5>", "<0x8f>", "<0xab>", "a"}), "\u53eba");
  EXPECT_EQ(run_decoders(steps, {"<0xE5>", "<0xE5>", "a"}), "\ufffd\ufffda");
  EXPECT_EQ(utf8_lossy("a\xE5\x8F"), "a\ufffd");  // Rust's from_utf8_lossy: one U+FFFD per maximal prefix
}

}  // namespace
}  // namespace tandem
