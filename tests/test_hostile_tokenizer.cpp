// Hostile tokenizer folders: tokenizer.json with ids that are negative, beyond int32, huge, duplicated or of the
// wrong JSON type, merges naming unknown tokens, and an unparseable tokenizer_config.json. Each must be an Error
// naming the file and the token or id; `tandem tokenize` once wrote out of bounds on a negative id.
#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "data/tokenizer_dir.h"
#include "hostile_files.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_fallback.h"
#include "tokenizer/unicode.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using hostile::expect_error;
using nlohmann::json;

// A small valid byte-level BPE: the 256 bytes, "ab" (merge "a b") as id 256, and the special token "<|end|>" as 257.
json small_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[utf8_encode(std::u32string(1, byte_to_unicode()[size_t(b)]))] = b;
  vocab["ab"] = 256;
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}}},
          {"added_tokens", {{{"id", 257}, {"content", "<|end|>"}, {"special", true}}}},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}}};
}

class HostileTokenizer : public ::testing::Test {
 protected:
  // Writes the tokenizer.json and expects loading it to fail naming the file and every needle.
  void expect_rejected(const json& tokenizer, std::initializer_list<std::string> needles) {
    const std::string path = hostile::write(dir_ / "tokenizer.json", tokenizer.dump());
    expect_error([&] { BpeTokenizer::from_file(path); }, {path});
    expect_error([&] { BpeTokenizer::from_file(path); }, needles);
  }
  fs::path dir_ = hostile::temp_dir("tokenizer");
};

TEST_F(HostileTokenizer, TheSmallTokenizerWorks) {
  const BpeTokenizer t = BpeTokenizer::from_json_text(small_tokenizer().dump());
  EXPECT_EQ(t.encode("ab<|end|>"), (std::vector<int32_t>{256, 257}));
  EXPECT_EQ(t.vocab_size(), 258);
}

TEST_F(HostileTokenizer, NegativeVocabId) {
  json j = small_tokenizer();
  j["model"]["vocab"]["ab"] = -1;
  expect_rejected(j, {"model.vocab token \"ab\" has id -1", "ids must be integers in [0, "});
}

TEST_F(HostileTokenizer, NegativeAddedTokenId) {
  json j = small_tokenizer();
  j["added_tokens"][0]["id"] = -5;
  expect_rejected(j, {"added_tokens token \"<|end|>\" has id -5"});
}

TEST_F(HostileTokenizer, IdsBeyondInt32AreNotTruncated) {
  json j = small_tokenizer();
  j["model"]["vocab"]["ab"] = (int64_t(1) << 32) + 256;  // would truncate to 256
  expect_rejected(j, {"token \"ab\" has id 4294967552"});
  j = small_tokenizer();
  j["added_tokens"][0]["id"] = 2147483647;  // a 2^31-entry table
  expect_rejected(j, {"token \"<|end|>\" has id 2147483647"});
}

TEST_F(HostileTokenizer, DuplicateIds) {
  json j = small_tokenizer();
  j["model"]["vocab"]["ab"] = 97;  // the id of "a"
  expect_rejected(j, {"has id 97, which already names token \"a\""});
  j = small_tokenizer();
  j["added_tokens"][0]["id"] = 256;  // the id of "ab"
  expect_rejected(j, {"added_tokens token \"<|end|>\" has id 256, which already names token \"ab\""});
  j = small_tokenizer();
  j["added_tokens"].push_back({{"id", 258}, {"content", "<|end|>"}});
  expect_rejected(j, {"token \"<|end|>\" has two ids, 257 and 258"});
}

TEST_F(HostileTokenizer, IdsAndTokensOfTheWrongJsonType) {
  json j = small_tokenizer();
  j["model"]["vocab"]["ab"] = "256";
  expect_rejected(j, {"token \"ab\" has id \"256\""});
  j["model"]["vocab"]["ab"] = 256.5;
  expect_rejected(j, {"token \"ab\" has id 256.5"});
  j = small_tokenizer();
  j["model"]["vocab"] = json::array({"a", "b"});
  expect_rejected(j, {"model.vocab must be an object"});
  j = small_tokenizer();
  j["added_tokens"][0]["content"] = 42;
  expect_rejected(j, {"added_tokens: key 'content' must be a string"});
  j = small_tokenizer();
  j["model"]["merges"] = {json::array({1, 2})};
  expect_rejected(j, {"merge 0 must be"});
  j = small_tokenizer();
  j["model"]["ignore_merges"] = "yes";
  expect_rejected(j, {"type must be boolean"});
  j = small_tokenizer();
  j.erase("pre_tokenizer");
  expect_rejected(j, {"pre_tokenizer", "not found"});
}

TEST_F(HostileTokenizer, MergesNamingUnknownTokens) {
  json j = small_tokenizer();
  j["model"]["merges"] = {"a zz"};
  expect_rejected(j, {"merge \"a zz\" uses token \"zz\", which is not in model.vocab"});
  j["model"]["merges"] = {"b c"};  // both known, "bc" is not
  expect_rejected(j, {"merge \"b c\" uses token \"bc\""});
}

TEST_F(HostileTokenizer, InvalidOrDeepJson) {
  const std::string path = hostile::write(dir_ / "tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 1,");
  expect_error([&] { BpeTokenizer::from_file(path); }, {path, "not valid JSON"});
  hostile::write(dir_ / "tokenizer.json", std::string(200000, '[') + std::string(200000, ']'));
  expect_error([&] { BpeTokenizer::from_file(path); }, {path, "nested deeper than"});
}

TEST_F(HostileTokenizer, TokenizeCommandReportsInsteadOfCrashing) {
  json j = small_tokenizer();
  j["model"]["vocab"]["ab"] = -1;
  const std::string path = hostile::write(dir_ / "tokenizer.json", j.dump());
  const std::string err = (dir_ / "stderr.txt").string();
  const int status = std::system((std::string(TANDEM_BINARY) + " tokenize " + path + " abc 2> " + err).c_str());
  ASSERT_TRUE(WIFEXITED(status)) << "tandem tokenize died by a signal";
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(read_file(err).find("has id -1"), std::string::npos) << read_file(err);
}

TEST_F(HostileTokenizer, TokenizerConfigMustParseWhenPresent) {
  hostile::write(dir_ / "tokenizer.json", small_tokenizer().dump());
  EXPECT_EQ(load_tokenizer_dir(dir_.string())->eos_id, -1);  // no tokenizer_config.json: optional
  hostile::write(dir_ / "tokenizer_config.json", R"({"eos_token": "<|end|>"})");
  EXPECT_EQ(load_tokenizer_dir(dir_.string())->eos_id, 257);

  hostile::write(dir_ / "tokenizer_config.json", R"({"eos_token": "<|end|>",)");
  expect_error([&] { load_tokenizer_dir(dir_.string()); }, {"tokenizer_config.json", "not valid JSON"});
  hostile::write(dir_ / "tokenizer_config.json", R"({"eos_token": 5})");
  expect_error([&] { load_tokenizer_dir(dir_.string()); }, {"tokenizer_config.json", "'eos_token' must be a string"});
  hostile::write(dir_ / "tokenizer_config.json", R"({"eos_token": {"content": ["x"]}})");
  expect_error([&] { load_tokenizer_dir(dir_.string()); }, {"tokenizer_config.json", "'content' must be a string"});
  hostile::write(dir_ / "tokenizer_config.json", R"({"eos_token": "<|eot|>"})");
  expect_error([&] { load_tokenizer_dir(dir_.string()); },
               {"tokenizer_config.json", "eos_token \"<|eot|>\" is not a token of tokenizer.json"});
}

// A small SentencePiece-style BPE (Llama-2 layout): <unk> = 0, the 256 byte tokens "<0x00>".."<0xFF>" = 1..256,
// "▁" 257, "a" 258, "b" 259, "ab" 260 (merge "a b").
json small_sentencepiece_bpe() {
  json vocab = {{"<unk>", 0}};
  for (int b = 0; b < 256; ++b) vocab[byte_fallback_token(uint8_t(b))] = b + 1;
  vocab["\u2581"] = 257;
  vocab["a"] = 258;
  vocab["b"] = 259;
  vocab["ab"] = 260;
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}, {"unk_token", "<unk>"},
                     {"byte_fallback", true}, {"fuse_unk", true}}},
          {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", "\u2581"}},
                                                                 {{"type", "Replace"}, {"pattern", {{"String", " "}}},
                                                                  {"content", "\u2581"}}}}}},
          {"pre_tokenizer", nullptr},
          {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}},
                                                             {"content", " "}},
                                                            {{"type", "ByteFallback"}},
                                                            {{"type", "Fuse"}},
                                                            {{"type", "Strip"}, {"content", " "}, {"start", 1},
                                                             {"stop", 0}}}}}}};
}

// A small Unigram: <unk> = 0, "a", "b", "ab", "▁" with scores, byte fallback off.
json small_unigram() {
  return {{"model", {{"type", "Unigram"}, {"unk_id", 0}, {"byte_fallback", false},
                     {"vocab", json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.0}), json::array({"b", -2.0}),
                                          json::array({"ab", -1.5}), json::array({"\u2581", -1.0})})}}},
          {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"},
                             {"split", true}}},
          {"decoder", {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}}}};
}

TEST_F(HostileTokenizer, TheSmallSentencePieceTokenizersWork) {
  const BpeTokenizer bpe = BpeTokenizer::from_json_text(small_sentencepiece_bpe().dump());
  // "▁ab▁a€": "€" (E2 82 AC) is not in the vocabulary, so it falls back to its three byte tokens.
  EXPECT_EQ(bpe.encode("ab a\u20ac"), (std::vector<int32_t>{257, 260, 257, 258, 0xE2 + 1, 0x82 + 1, 0xAC + 1}));
  EXPECT_EQ(bpe.decode(bpe.encode("ab a\u20ac")), "ab a\u20ac");
  const BpeTokenizer unigram = BpeTokenizer::from_json_text(small_unigram().dump());
  EXPECT_EQ(unigram.encode("ab a"), (std::vector<int32_t>{4, 3, 4, 1}));  // ▁ ab ▁ a
  EXPECT_EQ(unigram.encode("xy"), (std::vector<int32_t>{4, 0}));         // "xy" fuses into one unk
}

TEST_F(HostileTokenizer, ByteFallbackNeedsEveryByteToken) {
  json j = small_sentencepiece_bpe();
  j["model"]["vocab"].erase("<0x41>");
  j["model"]["vocab"]["<0x4g>"] = 66;  // a misspelt name is just another token, so <0x41> is still missing
  expect_rejected(j, {"model.byte_fallback is true but model.vocab lacks the byte token \"<0x41>\""});
  j = small_sentencepiece_bpe();
  j["model"]["unk_token"] = "<missing>";
  expect_rejected(j, {"model.unk_token \"<missing>\" is not in model.vocab"});
  j = small_tokenizer();  // byte-level: every byte is a token, so unk_token is never used (and not checked)
  j["model"]["unk_token"] = "<missing>";
  EXPECT_EQ(BpeTokenizer::from_json_text(j.dump()).encode("ab"), (std::vector<int32_t>{256}));
  j = small_sentencepiece_bpe();
  j["model"]["byte_fallback"] = "yes";
  expect_rejected(j, {"key 'byte_fallback' must be true or false"});
  j = small_sentencepiece_bpe();
  j["pre_tokenizer"] = {{"type", "ByteLevel"}};
  expect_rejected(j, {"model.byte_fallback true is not supported with a ByteLevel pre-tokenizer"});
}

TEST_F(HostileTokenizer, UnigramScoresAndUnkId) {
  json j = small_unigram();
  j["model"]["vocab"][2][1] = "-2";
  expect_rejected(j, {"model.vocab piece \"b\" (id 2) has score \"-2\"; scores must be finite numbers"});
  j = small_unigram();
  j["model"]["vocab"][1] = json::array({"a"});
  expect_rejected(j, {"model.vocab entry 1 must be [piece, score]"});
  j = small_unigram();
  j["model"]["unk_id"] = 5;
  expect_rejected(j, {"model.unk_id is 5; it must be null or an index into model.vocab, [0, 4]"});
  j["model"]["unk_id"] = -1;
  expect_rejected(j, {"model.unk_id is -1"});
  j["model"]["unk_id"] = 0.5;
  expect_rejected(j, {"model.unk_id is 0.5"});
  j = small_unigram();
  j["model"]["vocab"] = json::array();
  expect_rejected(j, {"must be a non-empty array of [piece, score]"});
  j = small_unigram();
  j["model"]["vocab"][3][0] = "";
  expect_rejected(j, {"model.vocab entry 3 is an empty piece"});
  j = small_unigram();
  j["model"]["min_score"] = 1;
  expect_rejected(j, {"model (Unigram) has key 'min_score', which is not supported"});
  // Without unk_id an uncovered character is an error when encoding, not a crash.
  j = small_unigram();
  j["model"]["unk_id"] = nullptr;
  const BpeTokenizer t = BpeTokenizer::from_json_text(j.dump());
  EXPECT_EQ(t.encode("ab"), (std::vector<int32_t>{4, 3}));
  expect_error([&] { t.encode("x"); }, {"no piece covers x and model.unk_id is null"});
}

TEST_F(HostileTokenizer, UnsupportedComponentsAreNamed) {
  auto with = [](const char* section, const json& component) {
    json j = small_sentencepiece_bpe();
    j[section] = component;
    return j;
  };
  expect_rejected(with("normalizer", {{"type", "Lowercase"}}), {"normalizer 'Lowercase' is not supported"});
  expect_rejected(with("normalizer", {{"type", "Replace"}, {"pattern", {{"Regex", " +"}}}, {"content", "x"}}),
                  {"normalizer Replace with a Regex pattern is not supported"});
  expect_rejected(with("normalizer", {{"type", "Replace"}, {"pattern", {{"String", ""}}}, {"content", "x"}}),
                  {"normalizer Replace has an empty pattern"});
  expect_rejected(with("normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "NFKC"}}}}}),
                  {"normalizer step 0 'NFKC' is not supported"});
  expect_rejected(with("normalizer", {{"type", "Prepend"}, {"prepend", 7}}), {"key 'prepend' must be a string"});
  expect_rejected(with("pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\u2581"},
                                         {"prepend_scheme", "sometimes"}}),
                  {"pre_tokenizer Metaspace key 'prepend_scheme' must be first, always or never"});
  expect_rejected(with("pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "ab"}}),
                  {"pre_tokenizer Metaspace key 'replacement' must be one character"});
  expect_rejected(with("pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "_"}, {"lowercase", true}}),
                  {"pre_tokenizer Metaspace has key 'lowercase', which is not supported"});
  expect_rejected(with("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Isolated"},
                                         {"invert", false}}),
                  {"pre_tokenizer Split key 'behavior' \"Isolated\" is not supported"});
  expect_rejected(with("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"String", " "}}},
                                         {"behavior", "MergedWithPrevious"}, {"invert", true}}),
                  {"pre_tokenizer Split key 'invert' true is not supported"});
  expect_rejected(with("pre_tokenizer", {{"type", "Whitespace"}}), {"pre_tokenizer 'Whitespace' is not supported"});
  expect_rejected(with("decoder", {{"type", "CTC"}}), {"decoder 'CTC' is not supported"});
  expect_rejected(with("decoder", {{"type", "Strip"}, {"content", " "}, {"start", -1}, {"stop", 0}}),
                  {"decoder Strip: key 'start' must be an integer"});
  expect_rejected(with("decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "Fuse"}, {"x", 1}}}}}),
                  {"decoder step 0 Fuse has key 'x', which is not supported"});
  expect_rejected(with("decoder", json::array()), {"decoder must be an object"});
}

TEST_F(HostileTokenizer, DecodingIdsInAGapOrOutsideTheVocabulary) {
  json j = small_unigram();
  j["added_tokens"] = {{{"id", 9}, {"content", "<x>"}, {"special", true}}};  // ids 5..8 name nothing
  const BpeTokenizer t = BpeTokenizer::from_json_text(j.dump());
  EXPECT_EQ(t.decode({6, 4, 3, 9}, /*skip_special_tokens=*/true), "ab");  // a gap is skipped, as in the HF library
  EXPECT_EQ(t.decode({4, 3, 9}), "ab<x>");
  expect_error([&] { t.decode({10}); }, {"token id 10 outside the vocabulary"});
  expect_error([&] { t.decode({-3}); }, {"token id -3 outside the vocabulary"});
  EXPECT_EQ(t.token_id("\u0120a"), -1);  // no byte-level reading of a SentencePiece vocabulary
}

// `tandem chat-template CONFIG MESSAGES`: a messages file of the wrong shape is an error naming it and the key.
TEST_F(HostileTokenizer, ChatTemplateMessagesFileOfTheWrongShapeNamesFileAndKey) {
  const std::string config = hostile::write(
      dir_ / "tokenizer_config.json",
      nlohmann::json{{"chat_template", "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + "
                                       "message.content + '<|im_end|>' + '\\n' }}{%- endfor %}"}}
          .dump());
  const std::string err = (dir_ / "stderr.txt").string();
  auto run = [&](const std::string& messages) {
    const std::string path = hostile::write(dir_ / "messages.json", messages);
    const int status =
        std::system((std::string(TANDEM_BINARY) + " chat-template " + config + " " + path + " 2> " + err).c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << messages;
    return read_file(err);
  };
  EXPECT_NE(run(R"([{"role": 5, "content": "x"}])").find("messages.json: key 'role' must be a string, got 5"),
            std::string::npos) << read_file(err);
  EXPECT_NE(run(R"({"role": "user"})").find("messages.json: expected a list"), std::string::npos) << read_file(err);
}

}  // namespace
}  // namespace tandem
