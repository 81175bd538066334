// safetensors, config.json and batch validation: round trips, and bad input gets an error that names it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/hf_checkpoint.h"
#include "io/safetensors.h"
#include "expect_error.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("tandem_test_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

using testing::expect_error;

TEST(Safetensors, RoundTripFp32AndBf16) {
  const fs::path dir = temp_dir("st");
  Tensor a("a.weight", {2, 3}), b("b", {4});
  for (int i = 0; i < 6; ++i) a.ptr()[i] = 0.1f * float(i) - 0.2f;
  b.assign({1.0f, -2.5f, 3.140625f, 65504.0f});
  save_safetensors((dir / "x.safetensors").string(), {&a, &b}, {{"format", "pt"}});
  const SafetensorsFile f((dir / "x.safetensors").string());
  EXPECT_EQ(f.load("a.weight").to_floats(), a.to_floats());
  EXPECT_EQ(f.load("b").shape, Shape{4});
  EXPECT_EQ(f.metadata().at("format"), "pt");

  save_safetensors((dir / "y.safetensors").string(), {&b}, {}, /*bf16=*/true);
  const SafetensorsFile g((dir / "y.safetensors").string());
  EXPECT_EQ(g.entry("b").dtype, Dtype::BF16);
  EXPECT_EQ(g.load("b").to_floats(), (std::vector<float>{1.0f, -2.5f, 3.140625f, 65536.0f}));  // bf16 rounding
  EXPECT_FALSE(fs::exists(dir / "y.safetensors.tmp"));
}

// Empty tensors have no buffer (a null pointer): saving and loading them must not hand memcpy a null (a fuzz
// finding under UBSan). The shapes survive both ways.
TEST(Safetensors, EmptyTensorsRoundTrip) {
  const fs::path dir = temp_dir("empty");
  Tensor e("e", {0}), z("z", {2, 0}), one("one", {1});
  one.assign({0.5f});
  for (const bool bf16 : {false, true}) {
    const std::string path = (dir / (bf16 ? "b.safetensors" : "f.safetensors")).string();
    save_safetensors(path, {&e, &z, &one}, {}, bf16);
    const SafetensorsFile f(path);
    EXPECT_EQ(f.load("e").shape, Shape{0});
    EXPECT_EQ(f.load("z").shape, (Shape{2, 0}));
    EXPECT_EQ(f.load("z").numel(), 0);
    EXPECT_EQ(f.load("one").to_floats(), std::vector<float>{0.5f});
  }
}

TEST(Safetensors, CorruptAndTruncatedFilesAreClearErrors) {
  const fs::path dir = temp_dir("bad");
  Tensor a("layer.weight", {64});
  save_safetensors((dir / "ok.safetensors").string(), {&a});
  const std::string good = read_file((dir / "ok.safetensors").string());

  write_file_atomic((dir / "trunc.safetensors").string(), good.substr(0, good.size() - 10));
  expect_error([&] { SafetensorsFile((dir / "trunc.safetensors").string()); }, {"trunc.safetensors", "layer.weight"});

  write_file_atomic((dir / "short.safetensors").string(), "abc");
  expect_error([&] { SafetensorsFile((dir / "short.safetensors").string()); }, {"short.safetensors"});

  std::string bad_json = good;
  bad_json[9] = '!';
  write_file_atomic((dir / "json.safetensors").string(), bad_json);
  expect_error([&] { SafetensorsFile((dir / "json.safetensors").string()); }, {"JSON"});

  std::string huge = good;
  huge[7] = 0x7f;  // header length far beyond the file
  write_file_atomic((dir / "len.safetensors").string(), huge);
  expect_error([&] { SafetensorsFile((dir / "len.safetensors").string()); }, {"header length"});
}

ModelConfig small_config() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.architecture = "Qwen2ForCausalLM";
  c.vocab_size = 20;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.qkv_bias = true;
  return c;
}

TEST(HfCheckpoint, SaveLoadRoundTripAndShapeErrorsNameTheTensor) {
  const fs::path dir = temp_dir("model");
  DecoderModel model(small_config());
  Rng rng(1);
  init_random(model.weights(), rng);
  save_model(model, dir.string());
  auto loaded = load_model(dir.string());
  EXPECT_EQ(loaded->config().qkv_bias, true);
  EXPECT_EQ(loaded->weights().layers[0].bq.to_floats(), model.weights().layers[0].bq.to_floats());
  EXPECT_EQ(loaded->weights().embed.to_floats(), model.weights().embed.to_floats());

  // A config that disagrees with the weights: the error names the tensor and both shapes.
  ModelConfig wrong = small_config();
  wrong.intermediate_size = 32;
  DecoderModel other(wrong);
  expect_error([&] { load_weights(other.weights(), dir.string()); }, {"mlp.gate_proj.weight", "[24, 16]", "[32, 16]"});
}

TEST(Config, BadValuesNameTheKey) {
  nlohmann::json j = small_config().to_json();
  j["num_key_value_heads"] = 3;
  expect_error([&] { ModelConfig::from_json(j, "cfg.json"); }, {"cfg.json", "num_key_value_heads"});
  j = small_config().to_json();
  j.erase("hidden_size");
  expect_error([&] { ModelConfig::from_json(j, "cfg.json"); }, {"hidden_size"});
  j = small_config().to_json();
  j["hidden_act"] = "gelu";
  expect_error([&] { ModelConfig::from_json(j, "cfg.json"); }, {"hidden_act"});
  j = small_config().to_json();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_error([&] { ModelConfig::from_json(j, "cfg.json"); }, {"yarn"});
  j = small_config().to_json();
  j["vocab_size"] = "many";
  expect_error([&] { ModelConfig::from_json(j, "cfg.json"); }, {"vocab_size"});
}

TEST(Batch, InvalidBatchesNameSequenceAndPosition) {
  DecoderModel model(small_config());
  Batch b(2, 4);
  b.tokens[5] = 99;
  expect_error([&] { model.forward(b); }, {"sequence 1", "position 1", "token id 99"});
  b.tokens[5] = 1;
  b.lengths[0] = 2;
  b.loss_mask[3] = 1;
  expect_error([&] { model.forward(b); }, {"sequence 0", "position 3", "padding"});
  b.loss_mask[3] = 0;
  b.loss_mask[4] = 1;
  expect_error([&] { model.forward(b); }, {"sequence 1", "first token"});
}

}  // namespace
}  // namespace tandem
