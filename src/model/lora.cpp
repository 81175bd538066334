#include "model/lora.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/arena.h"
#include "core/blas.h"
#include "core/check.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace tandem {

namespace {
template <typename W, typename Fn>
void visit(W& w, Fn&& fn) {
  for (auto& layer : w.layers)
    for (auto& ad : layer)
      if (ad.active()) {
        fn(ad.a);
        fn(ad.b);
      }
}
}  // namespace

bool LoraConfig::targets(Proj p) const {
  return std::find(target_modules.begin(), target_modules.end(), proj_name(p)) != target_modules.end();
}

void LoraConfig::validate() const {
  TANDEM_CHECK(r > 0, "lora_r must be > 0, got ", r);
  TANDEM_CHECK(alpha > 0, "lora_alpha must be > 0, got ", alpha);
  TANDEM_CHECK(dropout >= 0 && dropout < 1, "lora_dropout must be in [0, 1), got ", dropout);
  TANDEM_CHECK(!target_modules.empty(), "lora_target_modules is empty");
  for (const auto& m : target_modules) {
    bool known = false;
    for (int p = 0; p < kNumProj; ++p) known |= m == proj_name(Proj(p));
    TANDEM_CHECK(known, "lora_target_modules: '", m,
                 "' is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
  }
}

namespace {
// The slot table of a model's adapters: A and B of every targeted projection, layer by layer. Sizes w.layers.
std::vector<TensorSlot> lora_slots(const ModelConfig& model, const LoraConfig& config, LoraWeights& w, DType dtype) {
  w.layers.resize(size_t(model.num_hidden_layers));
  std::vector<TensorSlot> slots;
  for (int64_t l = 0; l < model.num_hidden_layers; ++l)
    for (int p = 0; p < kNumProj; ++p) {
      if (!config.targets(Proj(p))) continue;
      const auto [out, in] = proj_shape(model, Proj(p));
      const std::string prefix = "base_model.model.model.layers." + std::to_string(l) + "." + proj_path(Proj(p));
      LoraAdapter& ad = w.layers[size_t(l)][size_t(p)];
      slots.push_back({&ad.a, prefix + ".lora_A.weight", {config.r, in}, dtype});
      slots.push_back({&ad.b, prefix + ".lora_B.weight", {out, config.r}, dtype});
    }
  return slots;
}
}  // namespace

LoraWeights allocate_lora(const ModelConfig& model, const LoraConfig& config, Allocator* alloc, DType dtype) {
  config.validate();
  LoraWeights w;
  w.config = config;
  w.storage = place_in_arena(std::string("lora (") + dtype_str(dtype) + ")", lora_slots(model, config, w, dtype),
                             alloc);
  return w;
}

int64_t widest_adapted_input(const ModelConfig& model, const LoraConfig& config) {
  int64_t widest = 0;
  for (int p = 0; p < kNumProj; ++p)
    if (config.targets(Proj(p))) widest = std::max(widest, proj_shape(model, Proj(p)).second);
  return widest;
}

int64_t lora_bytes(const ModelConfig& model, const LoraConfig& config, DType dtype) {
  LoraWeights shapes_only;
  return arena_bytes(lora_slots(model, config, shapes_only, dtype));
}

void init_lora(LoraWeights& w, Rng& rng) {
  for (auto& layer : w.layers)
    for (auto& ad : layer) {
      if (!ad.active()) continue;
      const double bound = 1.0 / std::sqrt(double(ad.a.dim(1)));
      std::vector<float> a(size_t(ad.a.numel()));
      for (auto& v : a) v = float((2.0 * rng.uniform() - 1.0) * bound);
      ad.a.assign(a);
      ad.b.zero();
    }
}

void for_each_tensor(LoraWeights& w, const std::function<void(Tensor&)>& fn) { visit(w, fn); }
void for_each_tensor(const LoraWeights& w, const std::function<void(const Tensor&)>& fn) { visit(w, fn); }

void save_peft_adapter(const LoraWeights& w, const std::string& dir, const std::string& base_model) {
  std::filesystem::create_directories(dir);
  std::vector<const Tensor*> tensors;
  for_each_tensor(w, [&](const Tensor& t) { tensors.push_back(&t); });
  save_safetensors(dir + "/adapter_model.safetensors", tensors, {{"format", "pt"}});
  const nlohmann::json cfg = {{"peft_type", "LORA"},
                              {"task_type", "CAUSAL_LM"},
                              {"base_model_name_or_path", base_model},
                              {"r", w.config.r},
                              {"lora_alpha", w.config.alpha},
                              {"lora_dropout", w.config.dropout},
                              {"target_modules", w.config.target_modules},
                              {"bias", "none"},
                              {"fan_in_fan_out", false},
                              {"inference_mode", true},
                              {"use_rslora", false},
                              {"use_dora", false}};
  write_file_atomic(dir + "/adapter_config.json", cfg.dump(2) + "\n");
}

LoraWeights load_peft_adapter(const std::string& dir, const ModelConfig& model) {
  const std::string cfg_path = dir + "/adapter_config.json";
  const nlohmann::json j = read_json_file(cfg_path);
  // The JSON library's type and missing-key errors name the file.
  const LoraConfig c = naming_json_errors(cfg_path, [&] {
    TANDEM_CHECK(j.value("peft_type", "") == "LORA", cfg_path, ": peft_type must be LORA");
    TANDEM_CHECK(!j.value("use_rslora", false) && !j.value("use_dora", false), cfg_path,
                 ": rsLoRA and DoRA adapters are not supported");
    TANDEM_CHECK(j.value("bias", "none") == "none", cfg_path, ": only bias = \"none\" adapters are supported");
    LoraConfig lc;
    lc.r = json_get<int64_t>(j, "r", cfg_path);
    lc.alpha = json_get<double>(j, "lora_alpha", cfg_path);
    lc.dropout = json_get_or(j, "lora_dropout", 0.0, cfg_path);
    const auto& tm = j.at("target_modules");
    lc.target_modules =
        tm.is_string() ? std::vector<std::string>{tm.get<std::string>()} : tm.get<std::vector<std::string>>();
    return lc;
  });
  // A rank beyond every projection dimension is no real adapter, and would size the allocation from the file.
  const int64_t widest =
      std::max({model.hidden_size, model.intermediate_size, model.num_attention_heads * model.head_dim});
  TANDEM_CHECK(c.r <= widest, cfg_path, ": r = ", c.r, " exceeds the model's widest projection (", widest, ")");
  LoraWeights w = allocate_lora(model, c);
  const SafetensorsFile f(dir + "/adapter_model.safetensors");
  for_each_tensor(w, [&](Tensor& t) {
    // PEFT writes "...lora_A.weight"; older versions "...lora_A.default.weight" in memory only.
    TANDEM_CHECK(f.has(t.name), f.path(), ": adapter has no tensor ", t.name);
    Tensor loaded = f.load(t.name);
    TANDEM_CHECK(loaded.shape == t.shape, f.path(), ": tensor ", t.name, " has shape ", shape_str(loaded.shape),
                 ", expected ", shape_str(t.shape));
    t.take_values(std::move(loaded));
  });
  return w;
}

void merge_lora(ModelWeights& base, const LoraWeights& lora) {
  TANDEM_CHECK(base.layers.size() == lora.layers.size(), "merge_lora: adapter has ", lora.layers.size(),
               " layers, the model ", base.layers.size());
  for (size_t l = 0; l < lora.layers.size(); ++l)
    for (int p = 0; p < kNumProj; ++p) {
      const LoraAdapter& ad = lora.layers[l][p];
      if (!ad.active()) continue;
      Tensor& w = proj_weight(base.layers[l], Proj(p));
      const int out = int(w.dim(0)), in = int(w.dim(1)), r = int(ad.a.dim(0));
      const std::vector<float> a = ad.a.to_floats(), b = ad.b.to_floats();  // adapters may be bf16
      gemm(false, false, out, in, r, float(lora.config.scale()), b.data(), r, a.data(), in, 1.0f, w.ptr(), in);
    }
}

}  // namespace tandem
