// Judges and the generation-based win rate (eval/judges.h, eval/reward_model_judge.h, eval/win_rate.h,
// eval/judge_run.h): the toy judge gives the numbers of the implementation it replaced (re-implemented here), the
// answers judge matches trimmed text, the reward-model score is the summed log-softmax of the judge's logits over
// the response and the template's suffix (computed here from DecoderModel::logits), the win-rate arithmetic matches
// a hand computation, and `tandem train` / `tandem eval --task win_rate` write and print them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "data/text_formats.h"
#include "data/tokenizer_dir.h"
#include "data/toy_task.h"
#include "eval/judge_run.h"
#include "eval/reward_model_judge.h"
#include "expect_error.h"
#include "io/atomic_file.h"
#include "io/hf_checkpoint.h"
#include "model/batch.h"
#include "model/generate.h"
#include "model/weights.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer_folder.h"
#include "train/train_config.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::expect_error;

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("tandem_win_rate_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// ---- toy judge: the implementation it replaced, re-implemented (greedy, 4 new tokens, stop at <eos> = 3; right
// = the generated ids equal the reference with its <eos>; score = positions matching the copy answer). ----
constexpr int32_t kToyEos = 3;

std::vector<int32_t> old_answer(const DecoderModel& m, const std::vector<int32_t>& prompt) {
  GenerationConfig g;
  g.max_new_tokens = 4;
  g.stop_tokens = {kToyEos};
  Rng unused(0);
  return generate(m, prompt, g, unused);
}

int old_copy_score(const std::vector<int32_t>& response, const std::vector<int32_t>& copy) {
  int s = 0;
  for (size_t i = 0; i < copy.size() && i < response.size(); ++i) s += response[i] == copy[i];
  return s;
}

TEST(WinRate, ToyJudgeGivesTheReplacedImplementationsNumbers) {
  const fs::path dir = fresh_dir("toy");
  ToyTaskOptions o;
  o.examples = 8;
  o.eval_examples = 24;
  o.pretrain_examples = 8;
  o.hidden_size = 32;
  o.seed = 3;
  write_toy_task(dir.string(), o);
  DecoderModel model(ModelConfig::from_file((dir / "config.json").string()));
  Rng rng(11);
  init_random(model.weights(), rng, 0.3);  // large weights: varied greedy answers
  std::vector<SftExample> sft = load_sft_dataset((dir / "sft_eval.jsonl").string(), nullptr);
  std::vector<PreferenceExample> pref = load_preference_dataset((dir / "preference_eval.jsonl").string(), nullptr);
  // A random model answers neither task; make a third of the references its own answers (right), a third half
  // right, so accuracy, satisfaction and scores take values other than 0.
  for (size_t i = 0; i < sft.size(); i += 3) sft[i].completion = old_answer(model, sft[i].prompt);
  for (size_t i = 0; i < pref.size(); ++i) {
    const std::vector<int32_t> a = old_answer(model, pref[i].prompt);
    if (i % 3 == 0) pref[i].chosen = a;
    if (i % 3 == 1 && a.size() >= 2) pref[i].chosen[0] = a[0], pref[i].chosen[1] = a[1];
  }
  double sft_right = 0, pref_right = 0, outcome_sum = 0;
  int64_t wins = 0, ties = 0, losses = 0;
  for (const auto& e : sft) sft_right += old_answer(model, e.prompt) == e.completion;
  ToyJudge judge;
  for (const auto& e : pref) {
    const std::vector<int32_t> r = old_answer(model, e.prompt);
    pref_right += r == e.chosen;
    const int mine = old_copy_score(r, e.chosen), theirs = old_copy_score(e.chosen, e.chosen);
    wins += mine > theirs, ties += mine == theirs, losses += mine < theirs;
    outcome_sum += mine > theirs ? 1.0 : mine == theirs ? 0.5 : 0.0;
    // Per example, the ported judge's score equals the old copy score.
    const std::vector<int32_t> stops = {kToyEos};
    EXPECT_EQ(judge.score({e.prompt, as_response(e.chosen, stops), e.accepted}, as_response(r, stops)),
              double(mine));
  }
  ASSERT_GT(sft_right, 0);
  ASSERT_GT(pref_right, 0);
  ASSERT_GT(losses, 0);

  JudgeOptions opt;
  opt.judge = "toy";
  opt.win_rate_max_examples = 1000;
  const JudgeReport report = run_judges(model, sft, pref, opt, nullptr);
  EXPECT_EQ(report.judge["name"], "toy");
  EXPECT_DOUBLE_EQ(report.judge["sft_accuracy"].get<double>(), sft_right / double(sft.size()));
  EXPECT_DOUBLE_EQ(report.judge["preference_satisfaction"].get<double>(), pref_right / double(pref.size()));
  const json& w = report.win_rate;
  EXPECT_EQ(w["n"], int64_t(pref.size()));
  EXPECT_EQ(w["wins"], wins);
  EXPECT_EQ(w["ties"], ties);
  EXPECT_EQ(w["losses"], losses);
  EXPECT_DOUBLE_EQ(w["rate"].get<double>(), outcome_sum / double(pref.size()));
  EXPECT_EQ(w["against"], "chosen");
}

// ---- answers judge ----

// A byte-level BPE folder (ChatML template; EOS <|endoftext|>) trained on `texts`.
std::unique_ptr<TokenizerDir> tiny_tokenizer(const fs::path& dir, const std::vector<std::string>& texts) {
  BpeTrainerOptions o;
  o.vocab_size = 300;
  o.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  write_tokenizer_folder(dir.string(), train_bpe(texts, o), o.special_tokens);
  return load_tokenizer_dir(dir.string());
}

const std::vector<std::string> kCorpus = {"The capital of France is Paris.\n", "A cat is an animal.\n",
                                          "Question: what is a dog? Answer: an animal\n", "hello world\n"};

TEST(WinRate, AnswersJudgeMatchesTrimmedTextAgainstAcceptedAnswersOrTheReference) {
  const auto tok = tiny_tokenizer(fresh_dir("answers") / "tok", kCorpus);
  const BpeTokenizer& t = tok->tokenizer;
  AnswersJudge judge(t);
  const std::vector<int32_t> prompt = t.encode("Question: capital of France? Answer:");
  const std::vector<std::string> accepted = {"Paris", " paris "}, none;
  auto right = [&](const std::string& reference, const std::vector<std::string>& acc, const std::string& response) {
    return judge.accepts({prompt, Response{t.encode(reference), true}, acc}, Response{t.encode(response), true});
  };
  EXPECT_TRUE(right("unused", accepted, "Paris"));
  EXPECT_TRUE(right("unused", accepted, "  Paris\n"));    // the response is trimmed
  EXPECT_TRUE(right("unused", accepted, "paris"));        // so is each accepted answer
  EXPECT_FALSE(right("Paris", accepted, "Paris."));       // exact: punctuation counts
  EXPECT_FALSE(right("Paris", accepted, "Lyon"));         // a wrong answer
  EXPECT_TRUE(right(" an animal", none, "an animal \n"));  // no list: the reference's text
  EXPECT_FALSE(right(" an animal", none, "a cat"));
  EXPECT_EQ(judge.score({prompt, Response{t.encode("x"), true}, accepted}, Response{t.encode(" Paris"), false}), 1.0);
  EXPECT_EQ(judge.score({prompt, Response{t.encode("x"), true}, accepted}, Response{t.encode("Lyon"), true}), 0.0);
  // An id the model has but the tokenizer lacks (a padded vocabulary) is wrong text, not an error.
  const int32_t beyond = int32_t(t.vocab_size()) + 3;
  EXPECT_FALSE(judge.accepts({prompt, Response{t.encode("Paris"), true}, none}, Response{{beyond}, true}));
  std::vector<int32_t> paris_and_beyond = t.encode("Paris");
  paris_and_beyond.push_back(beyond);
  EXPECT_EQ(decode_response(t, paris_and_beyond), "Paris\xEF\xBF\xBD");
  EXPECT_EQ(trim_whitespace(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim_whitespace(" \n "), "");
}

TEST(WinRate, LoadersKeepAcceptedAnswersForEveryShape) {
  const fs::path dir = fresh_dir("shapes");
  const auto tok = tiny_tokenizer(dir / "tok", kCorpus);
  ASSERT_TRUE(tok->chat_template);
  TextEncoder enc = tok->encoder();
  const json acc = {"an animal", "animal"};
  const std::vector<json> sft_lines = {
      {{"prompt_ids", {1, 2}}, {"completion_ids", {3}}, {"accepted", acc}},
      {{"prompt", "Q"}, {"completion", "A"}, {"accepted", acc}},
      {{"instruction", "Q"}, {"output", "A"}, {"accepted", acc}},
      {{"messages", json::array({{{"role", "user"}, {"content", "Q"}}, {{"role", "assistant"}, {"content", "A"}}})},
       {"accepted", acc}},
      {{"text", "hello world"}, {"accepted", acc}},
      {{"prompt", "Q"}, {"completion", "A"}}};  // none given: empty
  const std::vector<json> pref_lines = {
      {{"prompt_ids", {1}}, {"chosen_ids", {2}}, {"rejected_ids", {3}}, {"accepted", acc}},
      {{"prompt", "Q"}, {"chosen", "A"}, {"rejected", "B"}, {"accepted", acc}},
      {{"prompt", "Q"},
       {"chosen", json::array({{{"role", "assistant"}, {"content", "A"}}})},
       {"rejected", json::array({{{"role", "assistant"}, {"content", "B"}}})},
       {"accepted", acc}},
      {{"chosen", "\n\nHuman: Q\n\nAssistant: A"}, {"rejected", "\n\nHuman: Q\n\nAssistant: B"}, {"accepted", acc}},
      {{"prompt", "Q"}, {"chosen", "A"}, {"rejected", "B"}}};
  std::string sft_text, pref_text;
  for (const auto& l : sft_lines) sft_text += l.dump() + "\n";
  for (const auto& l : pref_lines) pref_text += l.dump() + "\n";
  write_file_atomic((dir / "sft.jsonl").string(), sft_text);
  write_file_atomic((dir / "pref.jsonl").string(), pref_text);
  const auto sft = load_sft_dataset((dir / "sft.jsonl").string(), &enc);
  const auto pref = load_preference_dataset((dir / "pref.jsonl").string(), &enc);
  const std::vector<std::string> want = {"an animal", "animal"};
  ASSERT_EQ(sft.size(), sft_lines.size());
  for (size_t i = 0; i + 1 < sft.size(); ++i) EXPECT_EQ(sft[i].accepted, want) << sft_lines[i].dump();
  EXPECT_TRUE(sft.back().accepted.empty());
  ASSERT_EQ(pref.size(), pref_lines.size());
  for (size_t i = 0; i + 1 < pref.size(); ++i) EXPECT_EQ(pref[i].accepted, want) << pref_lines[i].dump();
  EXPECT_TRUE(pref.back().accepted.empty());

  write_file_atomic((dir / "bad.jsonl").string(), R"({"prompt": "Q", "completion": "A", "accepted": ["a", 2]})" "\n");
  expect_error([&] { load_sft_dataset((dir / "bad.jsonl").string(), &enc); }, {"bad.jsonl:1", "accepted", "2"});
}

// ---- reward-model judge ----

// A random model (vocabulary `vocab`, 256 positions) saved with the tokenizer files of `tok_dir`.
void write_tiny_model(const fs::path& dir, const fs::path& tok_dir, int64_t vocab, uint64_t seed) {
  const fs::path cfg_dir = dir.parent_path() / (dir.filename().string() + "_cfg");
  ToyTaskOptions o;
  o.examples = 4;
  o.eval_examples = 4;
  o.pretrain_examples = 4;
  o.hidden_size = 32;
  write_toy_task(cfg_dir.string(), o);
  json config = json::parse(read_file((cfg_dir / "config.json").string()));
  config["vocab_size"] = vocab;
  config["max_position_embeddings"] = 256;
  DecoderModel model(ModelConfig::from_json(config));
  Rng rng(seed);
  init_random(model.weights(), rng, 0.2);
  save_model(model, dir.string());
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    fs::copy_file(tok_dir / f, dir / f, fs::copy_options::overwrite_existing);
}

TEST(WinRate, RewardModelScoreIsTheSummedLogSoftmaxOfTheResponseAndSuffixAfterThePrefix) {
  const fs::path dir = fresh_dir("reward");
  const auto tok = tiny_tokenizer(dir / "tok", kCorpus);
  write_tiny_model(dir / "judge", dir / "tok", 300, 21);
  const std::string templ = "Question: {prompt}\nAnswer:{response}\nThat is right.";
  RewardModelJudge judge((dir / "judge").string(), templ, tok->tokenizer);
  const std::string prompt = "what is a cat?", response = " an animal";
  const double got = judge.score_text(prompt, response);

  // Independently: encode the prefix (with special tokens) and the rest, run the model's logits, log-softmax in
  // double, sum over the rest's tokens.
  auto model = load_model((dir / "judge").string());
  std::vector<int32_t> ids = tok->tokenizer.encode("Question: what is a cat?\nAnswer:", true);
  const size_t prefix = ids.size();
  const std::vector<int32_t> rest = tok->tokenizer.encode(" an animal\nThat is right.", false);
  ids.insert(ids.end(), rest.begin(), rest.end());
  Batch b(1, int64_t(ids.size()));
  b.tokens = ids;
  const std::vector<float> logits = model->logits(b);
  const int64_t V = model->config().vocab_size;
  double want = 0;
  for (size_t t = prefix; t < ids.size(); ++t) {
    const float* row = logits.data() + (t - 1) * V;
    double mx = row[0], z = 0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, double(row[v]));
    for (int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
    want += double(row[ids[t]]) - mx - std::log(z);
  }
  ASSERT_LT(want, -1.0);  // a real sum of log-probs, not 0
  EXPECT_NEAR(got, want, 1e-4 * std::abs(want));  // f32 logits: about 1e-6 relative per token

  // Through score(): prompt and response are decoded from the policy's ids first (special tokens dropped).
  std::vector<int32_t> p = tok->tokenizer.encode(prompt);
  p.insert(p.begin(), tok->tokenizer.token_id("<|im_start|>"));
  const std::vector<std::string> none;
  EXPECT_NEAR(judge.score({p, Response{}, none}, Response{tok->tokenizer.encode(response), true}), want,
              1e-4 * std::abs(want));
  EXPECT_NE(judge.scoring().find("summed log-prob"), std::string::npos);
}

TEST(WinRate, JudgeTemplatesAndOptionsAreCheckedNamingTheirKeys) {
  expect_error([] { check_judge_template("{prompt} says", "judge_template"); }, {"judge_template", "{response}"});
  expect_error([] { check_judge_template("{response}{response}", "judge_template"); },
               {"judge_template", "more than once"});
  const JudgeTemplateParts parts = fill_judge_template("<{prompt}|{response}|{prompt}>", "P{response}");
  EXPECT_EQ(parts.prefix, "<P{response}|");
  EXPECT_EQ(parts.suffix, "|P{response}>");
  const std::string base = "model_config = \"c.json\"\nsft_dataset = \"s.jsonl\"\npreference_dataset = \"p.jsonl\"\n";
  expect_error([&] { TrainConfig::from_toml_string(base, {"judge=\"reward_model\""}); },
               {"judge_model_path", "reward_model"});
  expect_error([&] { TrainConfig::from_toml_string(base, {"judge_template=\"{prompt}\""}); },
               {"judge_template", "{response}"});
  expect_error([&] { TrainConfig::from_toml_string(base, {"judge=\"llm\""}); }, {"judge", "llm"});
  expect_error([&] { TrainConfig::from_toml_string(base, {"win_rate_max_examples=0"}); }, {"win_rate_max_examples"});
  JudgeOptions o;
  o.judge = "answers";
  expect_error([&] { check_judge_options(o, nullptr); }, {"judge", "tokenizer"});
  o.judge = "reward_model";
  o.model_path = "/nonexistent/judge";
  const auto tok = tiny_tokenizer(fresh_dir("options") / "tok", kCorpus);
  expect_error([&] { check_judge_options(o, tok.get()); }, {"judge_model_path", "/nonexistent/judge"});
}

// ---- win-rate arithmetic ----

TEST(WinRate, RateStderrAndWilsonIntervalMatchAHandComputation) {
  // 3 wins, 2 ties, 3 losses: rate 4/8 = 0.5; deviations +-0.5 (6 of them) and 0 (2): sample variance 1.5/7, so
  // stderr = sqrt(1.5/7)/sqrt(8) = 0.1636634. Wilson (z = 1.959964, n = 8, p = 0.5): centre 0.5, half-width
  // z/(1+z^2/8) * sqrt(0.25/8 + z^2/256) = 0.2847839 (z^2 = 3.841459).
  const WinRate w = win_rate_of({1, 1, 0.5, 0, 0, 1, 0.5, 0});
  EXPECT_EQ(w.n, 8);
  EXPECT_EQ(w.wins, 3);
  EXPECT_EQ(w.ties, 2);
  EXPECT_EQ(w.losses, 3);
  EXPECT_DOUBLE_EQ(w.rate, 0.5);
  EXPECT_NEAR(w.stderr_of_rate, 0.1636634, 1e-7);
  EXPECT_NEAR(w.ci_low, 0.5 - 0.2847839, 1e-7);
  EXPECT_NEAR(w.ci_high, 0.5 + 0.2847839, 1e-7);
  // All 16 lost: stderr 0, but Wilson's interval still reaches z^2/(n+z^2) = 3.841459/19.841459 = 0.1936077.
  const WinRate lost = win_rate_of(std::vector<double>(16, 0.0));
  EXPECT_DOUBLE_EQ(lost.rate, 0.0);
  EXPECT_DOUBLE_EQ(lost.stderr_of_rate, 0.0);
  EXPECT_EQ(lost.ci_low, 0.0);
  EXPECT_NEAR(lost.ci_high, 0.1936077, 1e-7);
  // One example: no sample variance.
  EXPECT_TRUE(std::isnan(win_rate_of({1}).stderr_of_rate));
  expect_error([] { win_rate_of({0.3}); }, {"0.3"});
  expect_error([] { win_rate_of({}); }, {"no outcomes"});
}

// ---- end to end through the CLI ----

// A text task with "accepted" answers on a tiny tokenizer and random model: config text for `tandem train`.
std::string write_text_task(const fs::path& dir) {
  const auto tok = tiny_tokenizer(dir / "tok", kCorpus);
  write_tiny_model(dir / "base", dir / "tok", 300, 5);
  std::string sft, pref;
  const std::vector<std::pair<std::string, std::string>> qa = {
      {"What is a cat?", " an animal"}, {"Capital of France?", " Paris"}, {"Say hello.", " hello world"}};
  for (int i = 0; i < 6; ++i) {
    const auto& [q, a] = qa[i % 3];
    sft += json{{"prompt", q}, {"completion", a}}.dump() + "\n";
    pref += json{{"prompt", q}, {"chosen", a}, {"rejected", " no"}, {"accepted", {trim_whitespace(a), a + "."}}}
                .dump() +
            "\n";
  }
  write_file_atomic((dir / "sft.jsonl").string(), sft);
  write_file_atomic((dir / "pref.jsonl").string(), pref);
  const std::string d = dir.string();
  return "model_name_or_path = \"" + d + "/base\"\nsft_dataset = \"" + d + "/sft.jsonl\"\npreference_dataset = \"" +
         d + "/pref.jsonl\"\nreference_cache_dir = \"" + d + "/cache\"\noutput_dir = \"" + d + "/run\"\n" +
         "max_steps = 2\nper_device_train_batch_size = 2\nlearning_rate = 1e-3\nprogress = false\n" +
         "judge = \"answers\"\nwin_rate_max_examples = 4\njudge_max_new_tokens = 8\n";
}

void expect_win_rate_shape(const json& w, const std::string& judge, int64_t n) {
  ASSERT_TRUE(w.is_object()) << w.dump();
  EXPECT_EQ(w["judge"], judge);
  EXPECT_TRUE(w["scoring"].is_string() && !w["scoring"].get<std::string>().empty());
  EXPECT_EQ(w["against"], "chosen");
  EXPECT_EQ(w["n"], n);
  const int64_t wins = w["wins"], ties = w["ties"], losses = w["losses"];
  EXPECT_EQ(wins + ties + losses, n);
  EXPECT_DOUBLE_EQ(w["rate"].get<double>(), (double(wins) + 0.5 * double(ties)) / double(n));
  EXPECT_TRUE(w["stderr"].is_number());
  ASSERT_TRUE(w["ci95"].is_array() && w["ci95"].size() == 2);
  EXPECT_LE(w["ci95"][0].get<double>(), w["rate"].get<double>());
  EXPECT_GE(w["ci95"][1].get<double>(), w["rate"].get<double>());
}

TEST(WinRate, TrainWithTheAnswersJudgeWritesJudgeAndWinRateAndEvalWinRateScoresWithARewardModel) {
  const fs::path dir = fresh_dir("cli");
  write_file_atomic((dir / "train.toml").string(), write_text_task(dir));
  const auto r = testing::run_tandem(dir, "train train.toml");
  ASSERT_EQ(r.status, 0) << r.err;
  const json s = json::parse(read_file((dir / "run/summary.json").string()));
  ASSERT_TRUE(s["judge"].is_object()) << s.dump();
  EXPECT_EQ(s["judge"]["name"], "answers");
  for (const char* k : {"sft_accuracy", "preference_satisfaction"}) {
    ASSERT_TRUE(s["judge"][k].is_number()) << k;
    EXPECT_GE(s["judge"][k].get<double>(), 0.0);
    EXPECT_LE(s["judge"][k].get<double>(), 1.0);
  }
  expect_win_rate_shape(s["win_rate"], "answers", 4);
  // The chosen text is always accepted (score 1), so the policy never wins and ties exactly when it is right.
  EXPECT_EQ(s["win_rate"]["wins"], 0);

  // eval-win-rate: the run's checkpoint (which carries the tokenizer) judged by another tiny model.
  write_tiny_model(dir / "judge", dir / "tok", 300, 9);
  const auto e = testing::run_tandem(dir, "eval --task win_rate pref.jsonl --model run/checkpoint-2 --judge "
                                          "reward_model --judge-model judge --template 'Q: {prompt} A:{response}' "
                                          "--limit 5 --max-new-tokens 6 --out wr.json");
  ASSERT_EQ(e.status, 0) << e.err;
  EXPECT_NE(e.out.find("win rate "), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("95% Wilson interval ["), std::string::npos) << e.out;
  const json out = json::parse(read_file((dir / "wr.json").string()));
  expect_win_rate_shape(out["win_rate"], "reward_model", 5);
  EXPECT_TRUE(out["judge"].is_null());

  const auto missing = testing::run_tandem(dir, "eval --task win_rate pref.jsonl --model run/checkpoint-2 "
                                                "--judge reward_model");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("--judge-model"), std::string::npos) << missing.err;
  const auto bad_template = testing::run_tandem(dir, "eval --task win_rate pref.jsonl --model run/checkpoint-2 "
                                                     "--judge reward_model --judge-model judge --template '{prompt}'");
  EXPECT_EQ(bad_template.status, 1);
  EXPECT_NE(bad_template.err.find("{response}"), std::string::npos) << bad_template.err;
}

}  // namespace
}  // namespace tandem
