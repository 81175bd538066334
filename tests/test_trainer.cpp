// The trainer end to end on a tiny conflicting task (SFT teaches reversing three tokens, the preference data
// prefers copying them): resume reproduces the uninterrupted run bit for bit, divergence stops with a
// checkpoint, config and data errors name the key or file:line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "data/collate.h"
#include "data/examples.h"
#include "data/text_formats.h"
#include "data/toy_task.h"
#include "io/hf_checkpoint.h"
#include "io/safetensors.h"
#include "model/tensor_table.h"
#include "train/trainer.h"
#include "expect_error.h"
#include "trainer_fixtures.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::make_task;
using testing::metrics;
using testing::expect_error;

// Trains 12 steps straight, and 7 steps "crashing" with the last checkpoint at 5 then resuming; both runs must
// log the same trajectory and end with identical weights (or adapters).
void expect_exact_resume(const std::string& name, const std::string& base) {
  const auto cfg = [&](const std::string& out, std::vector<std::string> extra) {
    extra.push_back("output_dir=\"" + out + "\"");
    return TrainConfig::from_toml_string(base, extra);
  };
  const std::string straight_dir = fs::temp_directory_path() / ("tandem_straight_" + name);
  const std::string resumed_dir = fs::temp_directory_path() / ("tandem_resumed_" + name);
  fs::remove_all(straight_dir);
  fs::remove_all(resumed_dir);

  Trainer straight(cfg(straight_dir, {"eval_steps=4"}));
  straight.train();

  Trainer first(cfg(resumed_dir, {"eval_steps=4", "save_steps=5"}));
  first.train(7);  // "crashes" after step 7; the last checkpoint is step 5
  ASSERT_TRUE(fs::exists(resumed_dir + "/checkpoint-5/trainer_state.json"));
  Trainer second(cfg(resumed_dir, {"eval_steps=4", "save_steps=5", "resume_from_checkpoint=\"latest\""}));
  EXPECT_EQ(second.step(), 5);
  second.train();

  // Same logged trajectory (losses, objectives chosen, grad norms, lr, rewards) and bit-identical weights.
  EXPECT_EQ(metrics(straight_dir), metrics(resumed_dir));
  const std::string file = fs::exists(straight_dir + "/checkpoint-12/adapter_model.safetensors")
                               ? "/checkpoint-12/adapter_model.safetensors"
                               : "/checkpoint-12/model.safetensors";
  const SafetensorsFile a(straight_dir + file), b(resumed_dir + file);
  for (const auto& n : a.names()) EXPECT_EQ(a.load(n).to_floats(), b.load(n).to_floats()) << n;
}

class Resume : public ::testing::TestWithParam<std::string> {};

TEST_P(Resume, InterruptedAndResumedRunMatchesUninterruptedRun) {
  expect_exact_resume(GetParam(), make_task("resume_" + GetParam()) + "strategy = \"" + GetParam() + "\"\n");
}

TEST(Trainer, LoraTrainsOnlyAdaptersResumesExactlyAndExportsMerged) {
  const std::string lora = "strategy = \"alright\"\nuse_peft = true\nlora_r = 4\nlora_dropout = 0.1\n"
                           "lora_target_modules = \"all-linear\"\n";
  expect_exact_resume("lora", make_task("resume_lora") + lora);

  const std::string base = make_task("lora") + lora;
  Trainer t(TrainConfig::from_toml_string(base, {"save_merged_model=true", "max_steps=20"}));
  const std::vector<float> embed_before = t.model().weights().embed.to_floats();
  EXPECT_NEAR(t.evaluate().f_dpo, std::log(2.0), 1e-5);  // B = 0: the adapted model is the reference
  const EvalResult final_eval = t.train();
  EXPECT_EQ(t.model().weights().embed.to_floats(), embed_before);  // the base is frozen
  EXPECT_LT(final_eval.f_sft + final_eval.f_dpo, 3.85 + std::log(2.0));  // the adapters learned something
  const std::string out = fs::temp_directory_path() / "tandem_trainer_lora/run";
  EXPECT_TRUE(fs::exists(out + "/checkpoint-20/adapter_config.json"));
  EXPECT_TRUE(fs::exists(out + "/merged/model.safetensors"));
}

// bf16: the f32 master weights are optimizer state, saved with the moments; the resumed run is bit-identical.
TEST(Trainer, Bf16ResumesExactly) {
  expect_exact_resume("bf16", make_task("resume_bf16") + "strategy = \"mix\"\nbf16 = true\n");
  // LoRA in bf16: a bf16 frozen base, bf16 adapters with f32 masters, dropout on bf16 activations.
  expect_exact_resume("bf16_lora", make_task("resume_bf16_lora") + "strategy = \"alright\"\nbf16 = true\n" +
                                       "use_peft = true\nlora_r = 4\nlora_dropout = 0.1\n");
}

// Every family trains, checkpoints in its own format and resumes bit for bit through the same trainer (which knows
// no family). GPT-NeoX's checkpoint stores query_key_value per head and the model [q; k; v], so its resume crosses
// both layouts, also for a LoRA adapter on that fused module.
class FamilyResume : public ::testing::TestWithParam<std::string> {};

TEST_P(FamilyResume, TrainsSavesInItsOwnFormatAndResumesExactly) {
  const std::string family = GetParam();
  expect_exact_resume("family_" + family, make_task("family_" + family, family) + "strategy = \"alright\"\n");
  const std::string run = fs::temp_directory_path() / ("tandem_straight_family_" + family);
  EXPECT_EQ(ModelConfig::from_file(run + "/checkpoint-12/config.json").model_type, family);
  auto reloaded = load_model(run + "/checkpoint-12");  // loads back into the same family
  EXPECT_EQ(reloaded->config().layer_summary(),
            ModelConfig::from_file(fs::temp_directory_path() / ("tandem_trainer_family_" + family) / "config.json")
                .layer_summary());
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyResume, ::testing::Values("gpt_neox", "gemma", "gemma2", "phi3"));

TEST(Trainer, GptNeoxLoraOnTheFusedModuleResumesExactly) {
  expect_exact_resume("neox_lora", make_task("resume_neox_lora", "gpt_neox") +
                                       "strategy = \"mix\"\nuse_peft = true\nlora_r = 4\nlora_dropout = 0.1\n"
                                       "lora_target_modules = \"all-linear\"\n");
}

class Bf16Masters : public ::testing::TestWithParam<std::string> {};

TEST_P(Bf16Masters, StartFromAnFp32CheckpointsExactValues) {
  const std::string task = make_task("bf16_masters_" + GetParam(), GetParam());
  const fs::path dir = fs::temp_directory_path() / ("tandem_trainer_bf16_masters_" + GetParam());
  const std::string model_dir = (dir / "fp32_model").string();
  {  // an fp32 checkpoint of the task's model: random weights, few of them representable in bf16
    DecoderModel m(ModelConfig::from_file((dir / "config.json").string()));
    Rng rng(7);
    init_random(m.weights(), rng);
    save_model(m, model_dir);
  }
  Trainer t(TrainConfig::from_toml_string(task, {"model_config=\"\"", "model_name_or_path=\"" + model_dir + "\"",
                                                 "bf16=true"}));
  const SafetensorsFile file(model_dir + "/model.safetensors");
  const auto params = t.model().trainable_params();
  const std::vector<ParamInfo>& table = t.model().weights().params;
  int64_t not_bf16 = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    // Compared in the checkpoint's row order (GPT-NeoX's query_key_value per head).
    const std::vector<float> want = file.load(params[i].value->name).to_floats();
    const int64_t heads = table[i].interleaved_heads;
    const std::vector<float> master = to_checkpoint_layout(t.optimizer().master_weights()[i], heads).to_floats();
    const std::vector<float> weight = to_checkpoint_layout(*params[i].value, heads).to_floats();
    ASSERT_EQ(master, want) << params[i].value->name;  // the checkpoint's f32 values, not their rounding
    for (size_t j = 0; j < want.size(); ++j) {
      ASSERT_EQ(weight[j], to_float(to_bf16(want[j]))) << params[i].value->name;
      not_bf16 += weight[j] != want[j];
    }
  }
  EXPECT_GT(not_bf16, 1000);  // so masters made from the bf16 weights would have failed above
}

INSTANTIATE_TEST_SUITE_P(Families, Bf16Masters, ::testing::Values("llama", "gpt_neox"));

INSTANTIATE_TEST_SUITE_P(StatefulStrategies, Resume, ::testing::Values("alright", "maxright", "mix"));

TEST(Trainer, DpoStartsAtLog2AndSequentialForgetsSft) {
  const std::string base = make_task("forget");
  Trainer t(TrainConfig::from_toml_string(base, {"strategy=\"sequential\"", "max_steps=200", "sequential_first_steps=120",
                                                 "per_device_train_batch_size=16", "learning_rate=1e-2"}));
  const EvalResult start = t.evaluate();
  EXPECT_NEAR(start.f_dpo, std::log(2.0), 1e-5);  // policy == reference
  t.train(120);
  const EvalResult after_sft = t.evaluate();
  t.train();
  const EvalResult after_dpo = t.evaluate();
  RecordProperty("f_sft_start_after_sft_after_dpo", std::to_string(start.f_sft) + " " + std::to_string(after_sft.f_sft) + " " + std::to_string(after_dpo.f_sft));
  EXPECT_LT(after_sft.f_sft, start.f_sft - 1.0);   // SFT stage learned the task
  EXPECT_LT(after_dpo.f_dpo, after_sft.f_dpo);     // DPO stage improved the preference loss...
  EXPECT_GT(after_dpo.f_sft, after_sft.f_sft + 0.5);  // ...and undid much of the SFT stage
}

TEST(Trainer, SequentialStageCanBeGivenInEpochs) {
  // 64 SFT examples in batches of 4: one epoch is 16 steps, so 1.5 epochs switch to DPO after step 24.
  Trainer t(TrainConfig::from_toml_string(make_task("epochs"), {"strategy=\"sequential\"", "sequential_first_epochs=1.5",
                                                              "max_steps=30"}));
  t.train();
  for (const auto& j : metrics(fs::temp_directory_path() / "tandem_trainer_epochs/run")) {
    if (j.contains("eval")) continue;
    EXPECT_EQ(j["objective"], j["step"].get<int64_t>() <= 24 ? "sft" : "dpo") << j["step"];
  }
  EXPECT_THROW(TrainConfig::from_toml_string(make_task("epochs"), {"sequential_first_epochs=1", "sequential_first_steps=3"}),
               Error);
}

TEST(Trainer, DivergenceStopsWithACheckpointOfTheLastGoodState) {
  const std::string base = make_task("diverge");
  Trainer t(TrainConfig::from_toml_string(base, {"strategy=\"sft\"", "max_grad_norm=0.0", "warmup_steps=0"}));
  t.train(3);
  // A blow-up after three good steps (learning rates high enough to cause one are rejected by the config): finite
  // but huge norm weights overflow the activations, the next step's loss is NaN, and the finite state before that
  // step is the last good one.
  Tensor& norm = t.model().weights().layers[0].attn_norm;
  for (int64_t i = 0; i < norm.numel(); ++i) norm.data<float>()[i] = 3e38f;
  ASSERT_EQ(t.step(), 3);
  expect_error([&] { t.train(); }, {"step 4", "is nan", "checkpoint-3"});
  const std::string ckpt = fs::temp_directory_path() / "tandem_trainer_diverge/run/checkpoint-";
  EXPECT_TRUE(fs::exists(ckpt + std::to_string(t.step()) + "/model.safetensors"));
}

TEST(Trainer, DivergenceWithNonFiniteWeightsSavesNothing) {
  const std::string base = make_task("diverge_nan");
  Trainer t(TrainConfig::from_toml_string(base, {"strategy=\"sft\"", "warmup_steps=0"}));
  t.train(2);
  t.model().weights().layers[1].mlp_norm.data<float>()[3] = std::numeric_limits<float>::infinity();
  expect_error([&] { t.train(); }, {"is nan", "model.layers.1.post_attention_layernorm.weight is not finite"});
  EXPECT_FALSE(fs::exists(fs::temp_directory_path() / "tandem_trainer_diverge_nan/run/checkpoint-2"));
}

TEST(TrainConfig, UnknownKeysAndBadValuesNameTheKey) {
  const std::string base = make_task("config");
  auto expect_config_error = [&](const std::string& extra_toml, std::vector<std::string> overrides,
                                 const std::string& needle) {
    expect_error([&] { TrainConfig::from_toml_string(base + extra_toml, overrides, "train.toml"); }, {needle});
  };
  expect_config_error("learning_rat = 1e-4\n", {}, "learning_rat");
  expect_config_error("beta = \"high\"\n", {}, "beta");
  expect_config_error("", {"lambda=1.5"}, "lambda");
  expect_config_error("", {"strategy=alrite"}, "strategy");
  expect_config_error("", {"loss_typ=ipo"}, "loss_typ");
  expect_config_error("max_steps = 0\n", {}, "max_steps");
  const TrainConfig ok = TrainConfig::from_toml_string(base, {"strategy=maxright", "beta=0.2", "loss_type=ipo"});
  EXPECT_EQ(ok.strategy, "maxright");
  EXPECT_EQ(ok.beta, 0.2);
}

TEST(Data, MalformedLinesNameFileAndLine) {
  const fs::path p = fs::temp_directory_path() / "tandem_bad.jsonl";
  std::ofstream(p) << R"({"prompt_ids": [1], "completion_ids": [2]})" << "\n\n"
                   << R"({"prompt_ids": [1], "completion_ids": "two"})" << "\n";
  try {
    load_sft_dataset(p.string(), nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tandem_bad.jsonl:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("completion_ids"), std::string::npos) << e.what();
  }
  std::ofstream(p) << "{not json\n";
  EXPECT_THROW(load_preference_dataset(p.string(), nullptr), Error);
}

TEST(Data, CollationMasksPromptsAndTruncates) {
  const SftExample e{{1, 2, 3, 4, 5}, {6, 7, 8}};
  const Batch b = collate_sft({&e}, Truncation{6, 3});  // prompt keeps its last 3 tokens, response cut to 3
  EXPECT_EQ(b.tokens, (std::vector<int32_t>{3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(b.loss_mask, (std::vector<uint8_t>{0, 0, 0, 1, 1, 1}));
  const PreferenceExample p{{1, 2}, {3}, {4, 5, 6}};
  const Batch pb = collate_preference({&p}, Truncation{8, 4});
  EXPECT_EQ(pb.batch, 2);
  EXPECT_EQ(pb.lengths, (std::vector<int32_t>{3, 5}));
  EXPECT_EQ(pb.scored_tokens(), 4);
}

}  // namespace
}  // namespace tandem
