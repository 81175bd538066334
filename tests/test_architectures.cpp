// Architectures as data: each family's config.json keys become typed layer settings, its tensor table gives the
// family's own Hugging Face names, roles and layouts, checkpoints round-trip in the family's format, and unsupported
// settings are errors naming the key. (Numerics against PyTorch: test_model_parity.cpp; generation:
// test_generate.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "expect_error.h"
#include "io/hf_checkpoint.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "model/architectures.h"
#include "model/lora.h"
#include "model/tensor_table.h"

namespace tandem {
namespace {

nlohmann::json sizes(const std::string& model_type) {
  return {{"model_type", model_type}, {"vocab_size", 64},        {"hidden_size", 32},
          {"intermediate_size", 48},  {"num_hidden_layers", 2},  {"num_attention_heads", 4}};
}

std::vector<std::string> names_of(const ModelConfig& c) {
  std::vector<std::string> out;
  for (const ParamInfo& p : tensor_table(c))
    if (p.layer <= 0) out.push_back(p.name);
  return out;
}

TEST(Architectures, ConfigKeysSetTypedSettings) {
  nlohmann::json neox = sizes("gpt_neox");
  neox["rotary_pct"] = 0.25;
  neox["use_parallel_residual"] = false;
  neox["hidden_act"] = "gelu";
  const ModelConfig n = ModelConfig::from_json(neox);
  EXPECT_EQ(n.architecture, "GPTNeoXForCausalLM");
  EXPECT_EQ(n.norm, NormKind::kLayerNorm);
  EXPECT_EQ(n.norm_eps, 1e-5);  // GPTNeoXConfig's default, under its own key
  EXPECT_EQ(n.rotary_dims(), 2);
  EXPECT_EQ(n.residual, ResidualKind::kSequential);
  EXPECT_EQ(n.mlp, MlpKind::kPlain);
  EXPECT_EQ(n.activation, Activation::kGelu);
  EXPECT_EQ(n.qkv_layout, QkvLayout::kFusedPerHead);
  EXPECT_TRUE(n.qkv_bias && n.o_bias && n.mlp_bias);

  nlohmann::json gemma2 = sizes("gemma2");
  gemma2["head_dim"] = 16;
  gemma2["query_pre_attn_scalar"] = 16;
  gemma2["final_logit_softcapping"] = nullptr;  // null turns it off
  gemma2["sliding_window"] = 8;
  const ModelConfig g = ModelConfig::from_json(gemma2);
  EXPECT_EQ(g.norm, NormKind::kRmsOffset);
  EXPECT_TRUE(g.scale_embeddings && g.sandwich_norms && g.tie_word_embeddings);
  EXPECT_EQ(g.activation, Activation::kGeluTanh);
  EXPECT_DOUBLE_EQ(g.attention_scale, 0.25);
  EXPECT_EQ(g.attn_logit_softcap, 50.0);  // Gemma2Config's default
  EXPECT_EQ(g.final_logit_softcap, 0.0);
  EXPECT_EQ(g.layer_window(0), 8);  // even layers slide
  EXPECT_EQ(g.layer_window(1), 0);

  nlohmann::json phi3 = sizes("phi3");
  phi3["num_key_value_heads"] = 2;
  phi3["partial_rotary_factor"] = 0.5;
  const ModelConfig p = ModelConfig::from_json(phi3);
  EXPECT_EQ(p.qkv_layout, QkvLayout::kFused);
  EXPECT_TRUE(p.fused_gate_up);
  EXPECT_EQ(p.rotary_dims(), 4);
  EXPECT_EQ(p.norm_eps, 1e-5);
}

TEST(Architectures, EveryFamilyRoundTripsThroughConfigJson) {
  for (const char* type : {"llama", "mistral", "qwen2", "qwen3", "gpt_neox", "gemma", "gemma2", "phi3"}) {
    SCOPED_TRACE(type);
    nlohmann::json j = sizes(type);
    if (std::string(type) == "gemma2") j["query_pre_attn_scalar"] = 10;
    const ModelConfig a = ModelConfig::from_json(j);
    const ModelConfig b = ModelConfig::from_json(a.to_json());
    EXPECT_EQ(a.to_json(), b.to_json());
    EXPECT_EQ(names_of(a), names_of(b));
    EXPECT_EQ(a.num_parameters(), [&] {
      int64_t n = 0;
      for (const ParamInfo& p : tensor_table(a)) n += shape_numel(p.shape);
      return n;
    }()) << "num_parameters() counts the tensor table";
  }
}

// transformers 5 writes rope_theta and rope_scaling as one rope_parameters object: read as the legacy keys.
TEST(Architectures, Transformers5RopeParametersReadAsTheLegacyKeys) {
  nlohmann::json legacy = sizes("llama");
  legacy["rope_theta"] = 500000.0;
  legacy["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 32.0}, {"low_freq_factor", 1.0},
                            {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  nlohmann::json v5 = sizes("llama");
  v5["rope_parameters"] = legacy["rope_scaling"];
  v5["rope_parameters"]["rope_theta"] = 500000.0;
  const ModelConfig a = ModelConfig::from_json(legacy), b = ModelConfig::from_json(v5);
  EXPECT_EQ(b.rope_theta, 500000.0);
  EXPECT_EQ(b.rope_scaling.type, "llama3");
  EXPECT_EQ(a.to_json(), b.to_json());
  nlohmann::json plain = sizes("qwen3");
  plain["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000.0}};
  EXPECT_EQ(ModelConfig::from_json(plain).rope_theta, 1e6);
  nlohmann::json per_layer = sizes("gemma2");
  per_layer["rope_parameters"] = {{"full_attention", {{"rope_type", "default"}, {"rope_theta", 20000.0}}},
                                  {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}}};
  EXPECT_EQ(ModelConfig::from_json(per_layer).rope_theta, 20000.0);
}

TEST(Architectures, UnsupportedSettingsAreErrorsNamingTheKey) {
  auto expect = [](nlohmann::json j, std::vector<std::string> parts) {
    testing::expect_error([&] { ModelConfig::from_json(j, "cfg.json"); }, parts);
  };
  expect(sizes("gpt2"), {"cfg.json", "model_type 'gpt2'", "gpt_neox", "gemma2", "phi3"});
  nlohmann::json j = sizes("gemma");
  j["hidden_activation"] = "relu";
  expect(j, {"cfg.json", "hidden_activation", "relu"});
  j = sizes("gpt_neox");
  j["num_key_value_heads"] = 2;
  expect(j, {"cfg.json", "num_key_value_heads"});
  j = sizes("gpt_neox");
  j["rotary_pct"] = 0.1;  // int(8 * 0.1) = 0 dims
  expect(j, {"cfg.json", "rotary"});
  j = sizes("phi3");
  j["rope_scaling"] = {{"type", "longrope"}, {"short_factor", {1.0}}, {"long_factor", {1.0}}};
  expect(j, {"cfg.json", "rope_scaling", "longrope"});
  j = sizes("llama");
  j["mlp_bias"] = true;
  expect(j, {"cfg.json", "mlp_bias"});
  j = sizes("qwen2");
  j["use_sliding_window"] = true;
  j["sliding_window"] = 16;
  j["max_window_layers"] = 1;
  expect(j, {"cfg.json", "max_window_layers"});
}

TEST(Architectures, TensorTablesUseEachFamilysNamesAndRoles) {
  const ModelConfig neox = ModelConfig::from_json(sizes("gpt_neox"));
  EXPECT_EQ(names_of(neox), (std::vector<std::string>{
                                "gpt_neox.embed_in.weight",
                                "gpt_neox.layers.0.input_layernorm.weight",
                                "gpt_neox.layers.0.input_layernorm.bias",
                                "gpt_neox.layers.0.attention.query_key_value.weight",
                                "gpt_neox.layers.0.attention.query_key_value.bias",
                                "gpt_neox.layers.0.attention.dense.weight",
                                "gpt_neox.layers.0.attention.dense.bias",
                                "gpt_neox.layers.0.post_attention_layernorm.weight",
                                "gpt_neox.layers.0.post_attention_layernorm.bias",
                                "gpt_neox.layers.0.mlp.dense_h_to_4h.weight",
                                "gpt_neox.layers.0.mlp.dense_h_to_4h.bias",
                                "gpt_neox.layers.0.mlp.dense_4h_to_h.weight",
                                "gpt_neox.layers.0.mlp.dense_4h_to_h.bias",
                                "gpt_neox.final_layer_norm.weight",
                                "gpt_neox.final_layer_norm.bias",
                                "embed_out.weight",
                            }));
  // Initialisation and weight decay follow the role, not the name: a LayerNorm bias starts at 0 (its name contains
  // "norm"), Gemma's (1 + w) norm weights at 0, and neither decays.
  ModelWeights w = allocate_weights(neox);
  Rng rng(1);
  init_random(w, rng);
  ModelWeights g = allocate_weights(neox);
  const std::vector<ParamRef> params = model_params(w, g);
  for (size_t i = 0; i < w.params.size(); ++i) {
    const ParamInfo& p = w.params[i];
    const std::vector<float> v = w.param(p).to_floats();
    if (p.role == ParamRole::kNormBias || p.role == ParamRole::kBias) {
      EXPECT_EQ(v, std::vector<float>(v.size(), 0.0f)) << p.name;
    }
    if (p.role == ParamRole::kNormScale) {
      EXPECT_EQ(v, std::vector<float>(v.size(), 1.0f)) << p.name;
    }
    EXPECT_EQ(params[i].decay, p.role == ParamRole::kMatrix || p.role == ParamRole::kEmbedding) << p.name;
  }
  ModelWeights gemma = allocate_weights(ModelConfig::from_json(sizes("gemma")));
  init_random(gemma, rng);
  EXPECT_EQ(gemma.final_norm.to_floats(), std::vector<float>(32, 0.0f));

  const ModelConfig phi3 = ModelConfig::from_json(sizes("phi3"));
  const std::vector<std::string> phi = names_of(phi3);
  EXPECT_NE(std::find(phi.begin(), phi.end(), "model.layers.0.self_attn.qkv_proj.weight"), phi.end());
  EXPECT_NE(std::find(phi.begin(), phi.end(), "model.layers.0.mlp.gate_up_proj.weight"), phi.end());
  nlohmann::json g2 = sizes("gemma2");
  const std::vector<std::string> gemma2 = names_of(ModelConfig::from_json(g2));
  for (const char* n : {"model.layers.0.pre_feedforward_layernorm.weight", "model.layers.0.post_feedforward_layernorm.weight",
                        "model.layers.0.post_attention_layernorm.weight"})
    EXPECT_NE(std::find(gemma2.begin(), gemma2.end(), n), gemma2.end()) << n;
}

TEST(Architectures, FusedTensorsAreViewedAsTheirProjections) {
  nlohmann::json j = sizes("phi3");
  j["num_key_value_heads"] = 2;
  const ModelConfig c = ModelConfig::from_json(j);
  ModelWeights w = allocate_weights(c);
  const LayerWeights& l = w.layers[0];
  const float* base = static_cast<const float*>(l.qkv.raw());
  EXPECT_EQ(l.wq.raw(), base);
  EXPECT_EQ(static_cast<const float*>(l.wk.raw()), base + 32 * 32);
  EXPECT_EQ(static_cast<const float*>(l.wv.raw()), base + (32 + 16) * 32);
  EXPECT_EQ(static_cast<const float*>(l.w_up.raw()), static_cast<const float*>(l.gate_up.raw()) + 48 * 32);
  int tensors = 0;
  for_each_tensor(w, [&](const Tensor&) { ++tensors; });
  EXPECT_EQ(tensors, int(w.params.size()));  // the views are not parameters of their own
}

// GPT-NeoX's query_key_value is stored per head in the checkpoint and as [q; k; v] in the model: a checkpoint loaded
// and saved again is the same file, tensor for tensor, bit for bit.
TEST(Architectures, GptNeoxCheckpointRoundTripsBitForBit) {
  const std::string dir = std::string(TANDEM_REFERENCE_DIR) + "/gpt_neox_parallel";
  auto model = load_model(dir);
  const std::string out = (std::filesystem::temp_directory_path() / "tandem_neox_roundtrip").string();
  save_model(*model, out);
  const SafetensorsFile a(dir + "/model.safetensors"), b(out + "/model.safetensors");
  EXPECT_EQ(a.names(), b.names());
  for (const auto& name : a.names()) EXPECT_EQ(a.load(name).to_floats(), b.load(name).to_floats()) << name;
  const ModelConfig again = ModelConfig::from_file(out + "/config.json");
  EXPECT_EQ(again.to_json(), model->config().to_json());
  // The interleave is real: q of head 1 is not the checkpoint's rows 8.. but 24.. (head_size 8).
  const LayerWeights& l = model->weights().layers[0];
  const std::vector<float> stored = a.load("gpt_neox.layers.0.attention.query_key_value.weight").to_floats();
  const std::vector<float> wq = l.wq.to_floats();
  const int64_t d = model->config().hidden_size, D = model->config().head_dim;
  EXPECT_EQ(std::vector<float>(wq.begin() + D * d, wq.begin() + 2 * D * d),
            std::vector<float>(stored.begin() + 3 * D * d, stored.begin() + 4 * D * d));
}

TEST(Architectures, LoraTargetsAreTheFamilysModules) {
  const ModelConfig neox = ModelConfig::from_json(sizes("gpt_neox"));
  LoraConfig lc;
  auto names = [&](const ModelConfig& c) {
    std::vector<std::string> out;
    for (const auto& m : lora_targets(c, lc)) out.push_back(m.name);
    return out;
  };
  EXPECT_EQ(names(neox), (std::vector<std::string>{"query_key_value", "dense"}));  // default: attention
  lc.target_modules = {"all-linear"};
  EXPECT_EQ(names(neox), (std::vector<std::string>{"query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"}));
  EXPECT_EQ(names(ModelConfig::from_json(sizes("llama"))),
            (std::vector<std::string>{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}));
  lc.target_modules = {"q_proj"};
  testing::expect_error([&] { lora_targets(neox, lc); }, {"'q_proj'", "gpt_neox", "query_key_value"});
  // One fused adapter: q, k and v share A and take their rows of B.
  lc.target_modules = {"query_key_value"};
  LoraWeights w = allocate_lora(neox, lc);
  ASSERT_EQ(w.modules.size(), 2u);
  const LoraAdapter& q = w.layers[0][size_t(Proj::kQ)];
  const LoraAdapter& v = w.layers[0][size_t(Proj::kV)];
  EXPECT_EQ(q.a.raw(), v.a.raw());
  EXPECT_EQ(static_cast<const float*>(v.b.raw()), static_cast<const float*>(w.modules[0].b.raw()) + 2 * 32 * lc.r);
}

}  // namespace
}  // namespace tandem
