// What a run leaves for users: checkpoints carry the tokenizer and a generation_config.json (and load back as a
// tokenizer folder), run_info.json states the model, data, strategy and MAXRIGHT's ideal point (with a warning when
// it is zero by default), and a JSON array where JSONL is expected is named as such.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "data/text_formats.h"
#include "data/tokenizer_dir.h"
#include "expect_error.h"
#include "io/atomic_file.h"
#include "io/hf_checkpoint.h"
#include "model/generate.h"
#include "model/lora.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer_folder.h"
#include "train/checkpoint_folders.h"
#include "train/trainer.h"
#include "trainer_fixtures.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::expect_error;
using testing::make_task;

// Overrides that attach a tokenizer folder to the toy task and a model whose vocabulary holds it (the data stay
// pre-tokenized; the tokenizer is what the checkpoints must carry).
std::vector<std::string> with_tokenizer(const fs::path& task_dir, fs::path* tokenizer_dir) {
  BpeTrainerOptions o;
  o.vocab_size = 280;
  o.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  *tokenizer_dir = task_dir / "tok";
  write_tokenizer_folder(tokenizer_dir->string(), train_bpe({"hello world\n", "hello there\n"}, o), o.special_tokens);
  json config = json::parse(read_file((task_dir / "config.json").string()));
  config["vocab_size"] = 280;
  write_file_atomic((task_dir / "config280.json").string(), config.dump());
  return {"model_config=\"" + (task_dir / "config280.json").string() + "\"",
          "tokenizer_name_or_path=\"" + tokenizer_dir->string() + "\""};
}

// The id of `token` read straight from tokenizer.json's added_tokens (not through BpeTokenizer).
int64_t added_token_id(const fs::path& tokenizer_json, const std::string& token) {
  const json tokenizer = json::parse(read_file(tokenizer_json.string()));
  for (const auto& t : tokenizer["added_tokens"])
    if (t["content"] == token) return t["id"].get<int64_t>();
  return -1;
}

TEST(RunOutputs, CheckpointsCarryTheTokenizerAndAGenerationConfig) {
  fs::path tok;
  const std::string base = make_task("carry");
  std::vector<std::string> overrides = with_tokenizer(fs::temp_directory_path() / "tandem_trainer_carry", &tok);
  overrides.push_back("max_steps=3");
  overrides.push_back("save_steps=2");
  Trainer t(TrainConfig::from_toml_string(base, overrides));
  t.train();
  const fs::path run = fs::temp_directory_path() / "tandem_trainer_carry/run";
  for (const char* ckpt : {"checkpoint-2", "checkpoint-3"}) {
    const fs::path c = run / ckpt;
    EXPECT_TRUE(checkpoint_status(c.string()).complete) << ckpt;
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      EXPECT_EQ(read_file((c / f).string()), read_file((tok / f).string())) << ckpt << "/" << f;
    const json gen = json::parse(read_file((c / "generation_config.json").string()));
    const int64_t eos = added_token_id(tok / "tokenizer.json", "<|endoftext|>");
    EXPECT_EQ(gen.value("eos_token_id", -2), eos) << gen.dump();
    EXPECT_EQ(gen.value("pad_token_id", -2), eos) << gen.dump();
    EXPECT_FALSE(gen.contains("bos_token_id")) << "the tokenizer has no BOS: " << gen.dump();
    const auto loaded = load_tokenizer_dir(c.string());
    ASSERT_TRUE(loaded && loaded->chat_template) << ckpt;
    EXPECT_EQ(loaded->eos_id, eos);
  }
}

// `tandem generate` on what training saved: a LoRA checkpoint needs its base (--base), and then answers as the
// base with the adapters applied unmerged through the library's generate(); merge-lora's folder (which takes the
// tokenizer along) and the run's save_merged_model folder answer the same.
TEST(RunOutputs, GenerateRunsOnALoraCheckpointWithItsBaseAndOnItsMergedFolder) {
  fs::path tok;
  const fs::path task = fs::temp_directory_path() / "tandem_trainer_lora_generate";
  const std::string base_task = make_task("lora_generate");
  std::vector<std::string> overrides = with_tokenizer(task, &tok);
  DecoderModel random(ModelConfig::from_file((task / "config280.json").string()));
  Rng rng(7);
  init_random(random.weights(), rng);
  const fs::path base = task / "base";
  save_model(random, base.string());
  overrides[0] = "model_config=\"\"";
  overrides.push_back("model_name_or_path=\"" + base.string() + "\"");
  for (const char* o : {"use_peft=true", "lora_r=4", "max_steps=2", "learning_rate=0.05", "save_merged_model=true"})
    overrides.push_back(o);
  Trainer(TrainConfig::from_toml_string(base_task, overrides)).train();
  const fs::path ckpt = task / "run/checkpoint-2";
  ASSERT_TRUE(fs::exists(ckpt / "adapter_config.json") && fs::exists(ckpt / "tokenizer.json"));

  const fs::path cwd = task / "cwd";
  fs::create_directories(cwd);
  auto r = testing::run_tandem(cwd, "generate '" + ckpt.string() + "' --prompt 'hello there' --max-new-tokens 6");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--base"), std::string::npos) << r.err;

  auto model = load_model(base.string());
  model->set_lora(load_peft_adapter(ckpt.string(), model->config()));
  const auto t = load_tokenizer_dir(ckpt.string());
  GenerationConfig g;
  g.max_new_tokens = 6;
  g.stop_tokens = {t->tokenizer.token_id("<|endoftext|>"), t->tokenizer.token_id("<|im_end|>")};
  Rng unused(0);
  std::vector<int32_t> ids = generate(
      *model, t->tokenizer.encode("<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n"), g, unused);
  if (!ids.empty() && (ids.back() == g.stop_tokens[0] || ids.back() == g.stop_tokens[1])) ids.pop_back();
  const std::string expected = t->tokenizer.decode(ids) + "\n";

  r = testing::run_tandem(cwd, "generate '" + ckpt.string() + "' --base '" + base.string() +
                                   "' --prompt 'hello there' --max-new-tokens 6");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, expected);
  const fs::path merged = task / "merged";
  ASSERT_EQ(testing::run_tandem(cwd, "merge-lora '" + base.string() + "' '" + ckpt.string() + "' '" + merged.string() + "'").status, 0);
  r = testing::run_tandem(cwd, "generate '" + merged.string() + "' --prompt 'hello there' --max-new-tokens 6");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, expected);
  // save_merged_model's folder carries the tokenizer too.
  r = testing::run_tandem(cwd, "generate '" + (task / "run/merged").string() + "' --prompt 'hello there' --max-new-tokens 6");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, expected);
}

struct DataCounts {
  int64_t examples = 0, tokens = 0;
};
// Counted from the JSONL file itself: examples and the ids of the given fields.
DataCounts count(const fs::path& jsonl, const std::vector<const char*>& fields) {
  DataCounts c;
  std::ifstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const json j = json::parse(line);
    ++c.examples;
    for (const char* f : fields) c.tokens += int64_t(j[f].size());
  }
  return c;
}

TEST(RunOutputs, RunInfoStatesModelDataStrategyAndWarnsOfAZeroIdeal) {
  const std::string task = make_task("run_info");
  const fs::path dir = fs::temp_directory_path() / "tandem_trainer_run_info";
  {
    Trainer t(TrainConfig::from_toml_string(task, {"strategy=\"maxright\"", "lambda=0.25"}));
    const json info = json::parse(read_file((dir / "run/run_info.json").string()));
    EXPECT_EQ(info["strategy"]["name"], "maxright");
    EXPECT_EQ(info["strategy"]["lambda"], 0.25);
    EXPECT_EQ(info["strategy"]["ideal"]["mode"], "zero");
    ASSERT_EQ(info["warnings"].size(), 1u) << info.dump(2);
    EXPECT_NE(info["warnings"][0].get<std::string>().find("ideal point is zero"), std::string::npos);
    const DataCounts sft = count(dir / "sft.jsonl", {"prompt_ids", "completion_ids"});
    const DataCounts pref = count(dir / "preference.jsonl", {"prompt_ids", "chosen_ids", "rejected_ids"});
    EXPECT_EQ(info["sft_dataset"]["examples"], sft.examples);
    EXPECT_EQ(info["sft_dataset"]["tokens"], sft.tokens);
    EXPECT_EQ(info["preference_dataset"]["examples"], pref.examples);
    EXPECT_EQ(info["preference_dataset"]["tokens"], pref.tokens);
    EXPECT_EQ(info["sft_dataset"]["truncated_examples"], 0);
    EXPECT_EQ(info["model"]["trainable_parameters"], info["model"]["parameters"]);  // full fine-tuning
    EXPECT_EQ(info["optimization"]["examples_per_step"], 4);
  }
  {
    Trainer t(TrainConfig::from_toml_string(task, {"strategy=\"maxright\"", "sft_ideal=0.5", "dpo_ideal=0.25",
                                                    "use_peft=true", "lora_r=2", "max_length=5",
                                                    "max_prompt_length=2"}));
    const json info = json::parse(read_file((dir / "run/run_info.json").string()));
    EXPECT_EQ(info["strategy"]["ideal"]["mode"], "given");
    EXPECT_EQ(info["strategy"]["ideal"]["sft"], 0.5);
    EXPECT_EQ(info["strategy"]["ideal"]["dpo"], 0.25);
    EXPECT_TRUE(info["warnings"].empty()) << info.dump(2);
    EXPECT_LT(info["model"]["trainable_parameters"].get<int64_t>(), info["model"]["parameters"].get<int64_t>());
    // max_length 5 cuts every toy example (its prompts and answers are longer together).
    EXPECT_EQ(info["sft_dataset"]["truncated_examples"], info["sft_dataset"]["examples"]);
  }
}

TEST(RunOutputs, AJsonArrayWhereJsonlIsExpectedIsNamedAsSuch) {
  const fs::path dir = fs::temp_directory_path() / "tandem_run_outputs_array";
  fs::create_directories(dir);
  for (const std::string& text : std::vector<std::string>{std::string("[\n  {\"prompt_ids\": [1], \"completion_ids\": [2]}\n]\n"),
                                 std::string("[{\"prompt_ids\": [1], \"completion_ids\": [2]}]\n")}) {
    write_file_atomic((dir / "data.json").string(), text);
    expect_error([&] { load_sft_dataset((dir / "data.json").string(), nullptr); },
                 {"data.json", "expected JSONL (one object per line)"});
    expect_error([&] { load_preference_dataset((dir / "data.json").string(), nullptr); },
                 {"data.json", "expected JSONL (one object per line)"});
  }
}

}  // namespace
}  // namespace tandem
