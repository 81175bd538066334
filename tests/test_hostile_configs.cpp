// Absurd and out-of-domain values in config.json, the training TOML and pre-tokenized datasets: each is an error
// that names the file, the key (or line) and the value, raised before anything is allocated, never a crash, a
// wrap-around or a silently accepted value.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/tensor.h"
#include "data/text_formats.h"
#include "model/config.h"
#include "model/memory_plan.h"
#include "train/trainer.h"
#include "expect_error.h"
#include "trainer_fixtures.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;

using testing::expect_error;

nlohmann::json tiny_llama() {
  return {{"model_type", "llama"},         {"vocab_size", 64},        {"hidden_size", 32},
          {"intermediate_size", 64},       {"num_hidden_layers", 2},  {"num_attention_heads", 4},
          {"num_key_value_heads", 2},      {"max_position_embeddings", 128}};
}

void expect_config_error(const std::string& key, const nlohmann::json& value, const std::vector<std::string>& needles) {
  nlohmann::json j = tiny_llama();
  if (key.starts_with("rope_scaling."))
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 8192}},
    j["rope_scaling"][key.substr(13)] = value;
  else
    j[key] = value;
  std::vector<std::string> all = {"bad.json"};
  all.insert(all.end(), needles.begin(), needles.end());
  expect_error([&] { ModelConfig::from_json(j, "bad.json"); }, all);
}

TEST(HostileModelConfig, SizesOutsideTheirDomainNameKeyValueAndLimit) {
  ASSERT_NO_THROW(ModelConfig::from_json(tiny_llama(), "ok.json"));
  expect_config_error("vocab_size", int64_t{1} << 62, {"vocab_size", "4611686018427387904", "exceeds the limit"});
  expect_config_error("num_hidden_layers", 1000000000, {"num_hidden_layers", "1000000000", "limit"});
  expect_config_error("hidden_size", int64_t{1} << 40, {"hidden_size", "limit"});
  expect_config_error("intermediate_size", -3, {"intermediate_size", "> 0"});
  expect_config_error("max_position_embeddings", -5, {"max_position_embeddings", "-5"});
  expect_config_error("head_dim", 1 << 20, {"head_dim", "limit"});
  expect_config_error("sliding_window", -1, {"sliding_window"});
}

TEST(HostileModelConfig, NonIntegersAndWrongTypesAreNotTruncated) {
  expect_config_error("vocab_size", 32000.5, {"vocab_size", "must be an integer", "32000.5"});
  expect_config_error("num_hidden_layers", true, {"num_hidden_layers", "integer"});
  expect_config_error("hidden_size", "32", {"hidden_size"});
  expect_config_error("rms_norm_eps", "small", {"rms_norm_eps", "number"});
  expect_config_error("rms_norm_eps", 0.0, {"rms_norm_eps", "> 0"});
  expect_config_error("rope_theta", -1.0, {"rope_theta"});
  expect_config_error("architectures", nlohmann::json::array({7}), {"architectures"});
}

TEST(HostileModelConfig, RopeScalingFactorsMustBePositive) {
  expect_config_error("rope_scaling.factor", 0.0, {"rope_scaling.factor", "> 0"});
  expect_config_error("rope_scaling.low_freq_factor", -1.0, {"low_freq_factor"});
  expect_config_error("rope_scaling.high_freq_factor", 0.5, {"high_freq_factor", "must exceed"});
  expect_config_error("rope_scaling.original_max_position_embeddings", 0, {"original_max_position_embeddings"});
  expect_config_error("rope_scaling.rope_type", 3, {"rope_scaling", "rope_type"});
}

TEST(HostileModelConfig, ParameterCountOfTheLargestAllowedModelDoesNotWrap) {
  nlohmann::json j = tiny_llama();
  j["vocab_size"] = ModelConfig::kMaxVocab, j["hidden_size"] = ModelConfig::kMaxWidth;
  j["intermediate_size"] = ModelConfig::kMaxWidth, j["num_hidden_layers"] = ModelConfig::kMaxLayers;
  j["num_attention_heads"] = 256, j["num_key_value_heads"] = 256;
  const ModelConfig c = ModelConfig::from_json(j, "huge.json");
  // 2 x 2^31 x 2^20 (embeddings and head) + 2^10 layers x (4 + 3) x 2^40: far beyond int32, inside int64.
  EXPECT_GT(c.num_parameters(), int64_t{1} << 52);
  StepShape s;
  s.batch = 1 << 16, s.seq = 1 << 20;
  expect_error([&] { plan_step_memory(c, s); }, {"memory plan", "4 EiB"});
}

TEST(HostileShapes, ElementCountOverflowIsAnError) {
  expect_error([] { shape_numel({int64_t{1} << 40, int64_t{1} << 40}); }, {"more than 2^63 elements"});
  EXPECT_EQ(shape_numel({int64_t{1} << 31, int64_t{1} << 31}), int64_t{1} << 62);
}

TEST(HostileTrainConfig, OutOfDomainValuesNameFileAndKey) {
  const std::string base = testing::make_task("hostile_config");
  auto bad = [&](const std::string& line, const std::string& key) {
    expect_error([&] { TrainConfig::from_toml_string(base + line + "\n", {}, "train.toml"); }, {"train.toml", key});
  };
  bad("max_grad_norm = -1.0", "max_grad_norm");
  bad("max_grad_norm = nan", "max_grad_norm");
  bad("adam_beta1 = 1.5", "adam_beta1");
  bad("adam_beta2 = 1.0", "adam_beta2");
  bad("adam_epsilon = -1.0", "adam_epsilon");
  bad("adam_epsilon = 0.0", "adam_epsilon");
  bad("weight_decay = -1.0", "weight_decay");
  bad("learning_rate = 1e30", "learning_rate");
  bad("learning_rate = inf", "learning_rate");
  bad("logits_chunk_rows = -5", "logits_chunk_rows");
  bad("beta = nan", "beta");
  bad("min_lr_ratio = 2.0", "min_lr_ratio");
  bad("max_length = 100000000", "max_length");
  bad("per_device_train_batch_size = 10000000", "per_device_train_batch_size");
  bad("sft_ideal = inf", "sft_ideal");
  // The domains' edges are accepted, and NaN still means "unset" for the ideals.
  EXPECT_NO_THROW(TrainConfig::from_toml_string(
      base + "max_grad_norm = 0.0\nweight_decay = 0.0\nadam_beta1 = 0.0\nsft_ideal = nan\n", {}, "train.toml"));
}

TEST(HostileTrainConfig, ARunThatCannotFitSaysSoBeforeAllocating) {
  const std::string base = testing::make_task("hostile_memory");
  const fs::path config = fs::temp_directory_path() / "tandem_hostile_memory_config.json";
  nlohmann::json j = tiny_llama();
  j["vocab_size"] = ModelConfig::kMaxVocab, j["hidden_size"] = 65536, j["num_attention_heads"] = 512;
  j["num_key_value_heads"] = 512;  // 2^31 x 2^16 x 2 matrices x 16 bytes: 4.5 PB of weights and AdamW state
  std::ofstream(config) << j.dump();
  const TrainConfig cfg =
      TrainConfig::from_toml_string(base, {"model_config=\"" + config.string() + "\""}, "train.toml");
  expect_error([&] { Trainer t(cfg); }, {"training (batch", "needs about", "of host memory is available"});
  expect_error([] { check_fits_in_memory(StepMemory{.weights = 2000}, 1000, "this step"); },
               {"this step needs about 2.0 KB", "1.0 KB of host memory"});
  EXPECT_NO_THROW(check_fits_in_memory(StepMemory{.weights = 2000}, -1, "unknown"));  // the system does not say
}

TEST(HostileData, PreTokenizedIdsOutsideTheVocabularyNameFileAndLine) {
  const fs::path p = fs::temp_directory_path() / "tandem_hostile_ids.jsonl";
  std::ofstream(p) << R"({"prompt_ids": [1, 2], "chosen_ids": [3], "rejected_ids": [4]})" << "\n"
                   << R"({"prompt_ids": [1, 2], "chosen_ids": [3], "rejected_ids": [64]})" << "\n";
  TextEncoder ids_only;
  ids_only.vocab_size = 64;
  expect_error([&] { load_preference_dataset(p.string(), &ids_only); },
               {"tandem_hostile_ids.jsonl:2", "rejected_ids", "64", "vocabulary of 64"});
  std::ofstream(p) << R"({"prompt_ids": [], "completion_ids": [63, 2147483648]})" << "\n";
  expect_error([&] { load_sft_dataset(p.string(), &ids_only); }, {"tandem_hostile_ids.jsonl:1", "not a token id"});
}

TEST(HostileCheckpoint, AWrongTypeInTrainerStateNamesTheFile) {
  const std::string base = testing::make_task("hostile_state");
  Trainer(TrainConfig::from_toml_string(base, {"max_steps=2", "strategy=\"sft\""}, "train.toml")).train();
  const fs::path state = fs::temp_directory_path() / "tandem_trainer_hostile_state/run/checkpoint-2/trainer_state.json";
  std::string text;
  {
    std::ifstream in(state);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string step = "\"step\": 2";
  ASSERT_NE(text.find(step), std::string::npos) << text;
  text.replace(text.find(step), step.size(), "\"step\":{}");  // same size: the manifest still holds
  std::ofstream(state, std::ios::trunc) << text;
  expect_error(
      [&] {
        Trainer(TrainConfig::from_toml_string(base, {"max_steps=4", "strategy=\"sft\"",
                                                     "resume_from_checkpoint=\"latest\""}, "train.toml"));
      },
      {"checkpoint-2/trainer_state.json", "type must be number"});
}

}  // namespace
}  // namespace tandem
