// Hostile model files: safetensors headers that break the reference reader's rules (huggingface/safetensors),
// shard indexes that point outside the model folder, non-finite weights, and JSON of the wrong type. Each must be
// an Error naming the file and the tensor or key, never a crash or a silently wrong model.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "hostile_files.h"
#include "io/hf_checkpoint.h"
#include "io/safetensors.h"
#include "model/lora.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using hostile::expect_error;
using nlohmann::json;

// A safetensors file from a header given as JSON text, `data_bytes` zero bytes of data, and the header length the
// file claims (the real one unless given).
std::string raw_safetensors(const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  const uint64_t len = claimed_len ? claimed_len : header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &len, 8);
  return out + header + std::string(data_bytes, '\0');
}

std::string f32(const std::string& shape, uint64_t begin, uint64_t end) {
  return R"({"dtype": "F32", "shape": )" + shape + R"(, "data_offsets": [)" + std::to_string(begin) + ", " +
         std::to_string(end) + "]}";
}

class HostileSafetensors : public ::testing::Test {
 protected:
  // Writes the file and expects opening it to fail naming the file and every needle.
  void expect_rejected(const std::string& name, const std::string& bytes, std::initializer_list<std::string> needles) {
    const std::string path = hostile::write(dir_ / name, bytes);
    expect_error([&] { SafetensorsFile f(path); }, {name});
    expect_error([&] { SafetensorsFile f(path); }, needles);
  }
  fs::path dir_ = hostile::temp_dir("safetensors");
};

TEST_F(HostileSafetensors, AWellFormedFileOpens) {
  const std::string path =
      hostile::write(dir_ / "ok.safetensors", raw_safetensors(R"({"a": )" + f32("[4]", 0, 16) + R"(, "b": )" +
                                                                  f32("[2, 2]", 16, 32) + "}", 32));
  const SafetensorsFile f(path);
  EXPECT_EQ(f.names().size(), 2u);
  EXPECT_EQ(f.load("b").to_floats(), std::vector<float>(4, 0.0f));
}

TEST_F(HostileSafetensors, HeaderLengthBeyondTheLimitOrTheFile) {
  expect_rejected("len_max.safetensors", raw_safetensors("{}", 0, std::numeric_limits<uint64_t>::max()),
                  {"header length 18446744073709551615", "limit of 100000000 bytes"});
  expect_rejected("len_file.safetensors", raw_safetensors("{}", 0, 1000), {"header length 1000", "file size"});
}

TEST_F(HostileSafetensors, OverlappingTensors) {
  expect_rejected("overlap.safetensors",
                  raw_safetensors(R"({"a": )" + f32("[4]", 0, 16) + R"(, "b": )" + f32("[4]", 8, 24) + "}", 24),
                  {"tensor b", "[8, 24]", "overlap tensor a", "ends at byte 16"});
}

TEST_F(HostileSafetensors, GapBetweenTensorsAndBytesAfterThem) {
  expect_rejected("gap.safetensors",
                  raw_safetensors(R"({"a": )" + f32("[4]", 0, 16) + R"(, "b": )" + f32("[4]", 20, 36) + "}", 36),
                  {"tensor b", "gap of 4 bytes after tensor a"});
  expect_rejected("first_gap.safetensors", raw_safetensors(R"({"a": )" + f32("[4]", 4, 20) + "}", 20),
                  {"tensor a", "the first 4 data bytes belong to no tensor"});
  expect_rejected("tail.safetensors", raw_safetensors(R"({"a": )" + f32("[4]", 0, 16) + "}", 20),
                  {"cover 16 bytes of the 20-byte data section", "4 bytes after them belong to no tensor"});
}

TEST_F(HostileSafetensors, OffsetsOutsideTheFileOrReversedOrNegative) {
  expect_rejected("past_end.safetensors", raw_safetensors(R"({"a": )" + f32("[250]", 0, 1000) + "}", 16),
                  {"tensor a", "[0, 1000]", "16-byte data section"});
  expect_rejected("reversed.safetensors", raw_safetensors(R"({"a": )" + f32("[4]", 16, 0) + "}", 16),
                  {"tensor a", "[16, 0] end before they begin"});
  expect_rejected("negative.safetensors",
                  raw_safetensors(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [-16, 0]}})", 16),
                  {"tensor a", "data_offsets must be [begin, end]"});
}

TEST_F(HostileSafetensors, ShapeProductOverflowAndWrongByteCount) {
  expect_rejected("numel.safetensors", raw_safetensors(R"({"a": )" + f32("[4294967296, 4294967296]", 0, 0) + "}", 0),
                  {"tensor a", "more elements than fit in 64 bits"});
  expect_rejected("bytes.safetensors", raw_safetensors(R"({"a": )" + f32("[4611686018427387904]", 0, 0) + "}", 0),
                  {"tensor a", "more bytes than fit in 64 bits"});
  expect_rejected("count.safetensors", raw_safetensors(R"({"a": )" + f32("[3]", 0, 16) + "}", 16),
                  {"tensor a", "16 bytes do not hold shape [3] of F32"});
  expect_rejected("dim.safetensors", raw_safetensors(R"({"a": )" + f32("[-4]", 0, 16) + "}", 16),
                  {"tensor a", "not an integer >= 0"});
}

TEST_F(HostileSafetensors, UnknownDtypeMetadataAndHeaderShape) {
  expect_rejected("dtype.safetensors",
                  raw_safetensors(R"({"a": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})", 4),
                  {"tensor a", "unsupported dtype 'F8_E4M3'"});
  expect_rejected("meta.safetensors", raw_safetensors(R"({"__metadata__": {"format": 1}})", 0),
                  {"__metadata__ key 'format' must be a string"});
  expect_rejected("meta_list.safetensors", raw_safetensors(R"({"__metadata__": ["pt"]})", 0),
                  {"__metadata__ must be an object"});
  expect_rejected("array.safetensors", raw_safetensors("[]", 0), {"header must be a JSON object"});
  expect_rejected("deep.safetensors", raw_safetensors(std::string(100000, '[') + std::string(100000, ']'), 0),
                  {"nested deeper than"});
}

TEST_F(HostileSafetensors, NonFiniteValuesNameTheTensorAndTheFirstIndex) {
  Tensor w("model.layers.0.mlp.up_proj.weight", {4, 5});
  std::vector<float> v(20, 0.5f);
  v[17] = std::nanf("");
  v[18] = -INFINITY;
  v[19] = std::nanf("");
  w.assign(v);
  save_safetensors((dir_ / "nan.safetensors").string(), {&w});
  const SafetensorsFile f((dir_ / "nan.safetensors").string());
  expect_error([&] { f.load(w.name); }, {"nan.safetensors", "tensor model.layers.0.mlp.up_proj.weight",
                                          "has 3 non-finite values", "first at index 17: nan"});

  Tensor b("b", {3});
  b.assign({1.0f, INFINITY, 2.0f});
  save_safetensors((dir_ / "inf.safetensors").string(), {&b}, {}, /*bf16=*/true);
  const SafetensorsFile g((dir_ / "inf.safetensors").string());
  expect_error([&] { g.load("b"); }, {"inf.safetensors", "tensor b has 1 non-finite value", "index 1: inf"});
}

TEST_F(HostileSafetensors, IntegersOutsideInt32) {
  std::string data(8, '\0');
  const int64_t big = int64_t(1) << 40;
  std::memcpy(data.data(), &big, 8);
  const std::string path = hostile::write(
      dir_ / "ints.safetensors",
      raw_safetensors(R"({"ids": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", 0) + data);
  const SafetensorsFile f(path);
  expect_error([&] { f.load_ints("ids"); }, {"ints.safetensors", "tensor ids", "1099511627776", "outside int32"});
}

// ---- Model folders: config.json, the shard index, the weights. ----

ModelConfig tiny_config() {
  ModelConfig c;
  c.model_type = "llama";
  c.architecture = "LlamaForCausalLM";
  c.vocab_size = 16;
  c.hidden_size = 8;
  c.intermediate_size = 12;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 4;
  return c;
}

class HostileModelFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    DecoderModel model(tiny_config());
    Rng rng(3);
    init_random(model.weights(), rng);
    save_model(model, dir_.string());
    const SafetensorsFile f((dir_ / "model.safetensors").string());
    for (const auto& name : f.names()) tensors_.push_back(f.load(name));
  }

  // The model's tensors split over two shards with an index whose first shard is named `first_shard`.
  void write_sharded(const std::string& first_shard) {
    fs::remove(dir_ / "model.safetensors");
    std::vector<const Tensor*> a, b;
    json weight_map = json::object();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      (i % 2 ? b : a).push_back(&tensors_[i]);
      weight_map[tensors_[i].name] = i % 2 ? "model-00002-of-00002.safetensors" : first_shard;
    }
    save_safetensors((dir_ / "model-00001-of-00002.safetensors").string(), a);
    save_safetensors((dir_ / "model-00002-of-00002.safetensors").string(), b);
    hostile::write(dir_ / "model.safetensors.index.json", json{{"weight_map", weight_map}}.dump());
  }

  fs::path dir_ = hostile::temp_dir("model");
  std::vector<Tensor> tensors_;
};

TEST_F(HostileModelFolder, ShardedFolderLoads) {
  write_sharded("model-00001-of-00002.safetensors");
  auto model = load_model(dir_.string());
  std::map<std::string, std::vector<float>> saved;
  for (const auto& t : tensors_) saved[t.name] = t.to_floats();
  for_each_tensor(model->weights(), [&](Tensor& t) { EXPECT_EQ(t.to_floats(), saved.at(t.name)) << t.name; });
}

TEST_F(HostileModelFolder, AbsoluteShardPathIsRejected) {
  write_sharded("/etc/passwd");
  expect_error([&] { load_model(dir_.string()); },
               {"model.safetensors.index.json", "tensor ", "'/etc/passwd'", "absolute path"});
}

TEST_F(HostileModelFolder, DotDotShardPathIsRejected) {
  write_sharded("../outside/model-00001-of-00002.safetensors");
  expect_error([&] { load_model(dir_.string()); },
               {"model.safetensors.index.json", "'../outside/model-00001-of-00002.safetensors'", "leaves the model"});
  write_sharded("sub/../../model-00001-of-00002.safetensors");
  expect_error([&] { load_model(dir_.string()); }, {"model.safetensors.index.json", "leaves the model folder"});
}

TEST_F(HostileModelFolder, MissingShardOrNonStringShardIsRejected) {
  write_sharded("model-00009-of-00002.safetensors");
  expect_error([&] { load_model(dir_.string()); },
               {"model.safetensors.index.json", "'model-00009-of-00002.safetensors'", "does not exist"});
  hostile::write(dir_ / "model.safetensors.index.json", R"({"weight_map": {"model.norm.weight": 7}})");
  expect_error([&] { load_model(dir_.string()); },
               {"model.safetensors.index.json", "tensor model.norm.weight", "not a file name"});
}

TEST_F(HostileModelFolder, NonFiniteWeightNamesTensorAndFile) {
  for (auto& t : tensors_)
    if (t.name == "model.layers.0.mlp.up_proj.weight") {
      std::vector<float> v = t.to_floats();
      v[5] = std::nanf("");
      t.assign(v);
    }
  std::vector<const Tensor*> all;
  for (const auto& t : tensors_) all.push_back(&t);
  save_safetensors((dir_ / "model.safetensors").string(), all);
  expect_error([&] { load_model(dir_.string()); },
               {"model.safetensors", "tensor model.layers.0.mlp.up_proj.weight", "1 non-finite value",
                "first at index 5: nan"});
  expect_error([&] { load_model(dir_.string(), DType::kBF16); }, {"model.layers.0.mlp.up_proj.weight", "nan"});
}

TEST_F(HostileModelFolder, ConfigTypeErrorNamesTheFile) {
  json cfg = tiny_config().to_json();
  cfg["architectures"] = {5};
  hostile::write(dir_ / "config.json", cfg.dump());
  expect_error([&] { load_model(dir_.string()); }, {"config.json", "'architectures' must list strings"});
  cfg = tiny_config().to_json();
  cfg["rope_scaling"] = {{"rope_type", 7}};
  hostile::write(dir_ / "config.json", cfg.dump());
  expect_error([&] { ModelConfig::from_file((dir_ / "config.json").string()); },
               {"config.json", "'rope_type' must be a string"});
  hostile::write(dir_ / "config.json", "{\"model_type\": \"llama\",");
  expect_error([&] { load_model(dir_.string()); }, {"config.json", "not valid JSON"});
}

TEST_F(HostileModelFolder, AdapterConfigTypeErrorNamesFileAndKey) {
  LoraConfig lc;
  lc.r = 2;
  LoraWeights lora = allocate_lora(tiny_config(), lc);
  save_peft_adapter(lora, dir_.string());
  json cfg = json::parse(read_file((dir_ / "adapter_config.json").string()));
  cfg["r"] = "2";
  hostile::write(dir_ / "adapter_config.json", cfg.dump());
  expect_error([&] { load_peft_adapter(dir_.string(), tiny_config()); }, {"adapter_config.json", "'r'"});
  cfg["r"] = int64_t(1) << 40;
  hostile::write(dir_ / "adapter_config.json", cfg.dump());
  expect_error([&] { load_peft_adapter(dir_.string(), tiny_config()); }, {"adapter_config.json", "r = 1099511627776"});
  cfg["r"] = 2;
  cfg["target_modules"] = 3;
  hostile::write(dir_ / "adapter_config.json", cfg.dump());
  expect_error([&] { load_peft_adapter(dir_.string(), tiny_config()); }, {"adapter_config.json", "type must be"});
}

}  // namespace
}  // namespace tandem
