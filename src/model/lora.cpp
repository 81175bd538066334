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
#include "model/architectures.h"

namespace tandem {

namespace {
std::string last_component(const std::string& path) { return path.substr(path.rfind('.') + 1); }

// Every family's linear module names, in family order: what a name may be before the model is known.
std::vector<std::string> known_module_names() {
  std::vector<std::string> names;
  auto add = [&](const char* path) {
    if (*path == 0) return;
    const std::string name = last_component(path);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  for (const Architecture* a : all_architectures()) {
    add(a->names.qkv);
    for (const char* p : a->names.proj) add(p);
    add(a->names.gate_up);
  }
  return names;
}
}  // namespace

void LoraConfig::validate() const {
  TANDEM_CHECK(r > 0, "lora_r must be > 0, got ", r);
  TANDEM_CHECK(alpha > 0, "lora_alpha must be > 0, got ", alpha);
  TANDEM_CHECK(dropout >= 0 && dropout < 1, "lora_dropout must be in [0, 1), got ", dropout);
  const std::vector<std::string> known = known_module_names();
  for (const auto& m : target_modules) {
    if (m == "all-linear" && target_modules.size() == 1) continue;
    if (std::find(known.begin(), known.end(), m) != known.end()) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    fail("lora_target_modules: '", m, "' is not a linear module of any supported family (", list,
         ", or \"all-linear\" alone)");
  }
}

std::vector<LoraModuleInfo> lora_module_infos(const ModelConfig& model) {
  const TensorNames& n = architecture_of(model.model_type).names;
  std::vector<LoraModuleInfo> out;
  auto add = [&](const std::string& path, std::vector<Proj> projs, int64_t heads = 0) {
    out.push_back({last_component(path), path, std::move(projs), heads});
  };
  if (model.qkv_layout == QkvLayout::kSeparate) {
    for (Proj p : {Proj::kQ, Proj::kK, Proj::kV}) add(n.proj[size_t(p)], {p});
  } else {
    add(n.qkv, {Proj::kQ, Proj::kK, Proj::kV},
        model.qkv_layout == QkvLayout::kFusedPerHead ? model.num_attention_heads : 0);
  }
  add(n.proj[size_t(Proj::kO)], {Proj::kO});
  if (model.fused_gate_up) {
    add(n.gate_up, {Proj::kGate, Proj::kUp});
  } else {
    if (model.mlp == MlpKind::kGated) add(n.proj[size_t(Proj::kGate)], {Proj::kGate});
    add(n.proj[size_t(Proj::kUp)], {Proj::kUp});
  }
  add(n.proj[size_t(Proj::kDown)], {Proj::kDown});
  return out;
}

std::vector<LoraModuleInfo> lora_targets(const ModelConfig& model, const LoraConfig& config) {
  const std::vector<LoraModuleInfo> all = lora_module_infos(model);
  std::vector<std::string> names = config.target_modules;
  if (names.empty())  // the attention projections: every module before the MLP's
    for (const auto& m : all)
      if (m.projs[0] <= Proj::kO) names.push_back(m.name);
  if (names.size() == 1 && names[0] == "all-linear") return all;  // PEFT: every linear layer but the output head
  std::string known;
  for (const auto& m : all) known += (known.empty() ? "" : ", ") + m.name;
  std::vector<LoraModuleInfo> out;
  for (const auto& m : all)
    if (std::find(names.begin(), names.end(), m.name) != names.end()) out.push_back(m);
  for (const auto& name : names) {
    const bool found = std::any_of(all.begin(), all.end(), [&](const auto& m) { return m.name == name; });
    TANDEM_CHECK(found, "lora_target_modules: '", name, "' is not a linear module of ", model.model_type, " (", known,
                 ", or \"all-linear\")");
  }
  return out;
}

bool lora_targets_proj(const ModelConfig& model, const LoraConfig& config, Proj p) {
  for (const auto& m : lora_targets(model, config))
    if (std::find(m.projs.begin(), m.projs.end(), p) != m.projs.end()) return true;
  return false;
}

namespace {
// The slot table of a model's adapters: A and B of every targeted module, layer by layer. Sizes w.modules.
std::vector<TensorSlot> lora_slots(const ModelConfig& model, const LoraConfig& config, LoraWeights& w, DType dtype) {
  const std::vector<LoraModuleInfo> targets = lora_targets(model, config);
  const std::string prefix = std::string("base_model.model.") + architecture_of(model.model_type).names.layer_prefix;
  w.modules.clear();
  w.modules.reserve(size_t(model.num_hidden_layers) * targets.size());  // the slots point into it
  std::vector<TensorSlot> slots;
  for (int64_t l = 0; l < model.num_hidden_layers; ++l)
    for (const auto& info : targets) {
      int64_t rows = 0;
      for (Proj p : info.projs) rows += proj_shape(model, p).first;
      const int64_t in = proj_shape(model, info.projs[0]).second;
      const std::string name = prefix + std::to_string(l) + "." + info.path;
      LoraModule& m = w.modules.emplace_back(LoraModule{l, info, {}, {}});
      slots.push_back({&m.a, name + ".lora_A.weight", {config.r, in}, dtype});
      slots.push_back({&m.b, name + ".lora_B.weight", {rows, config.r}, dtype});
    }
  return slots;
}

// Points each projection's adapter at its module's A and at its rows of the module's B.
void bind_adapters(LoraWeights& w, const ModelConfig& model) {
  w.layers.assign(size_t(model.num_hidden_layers), {});
  for (LoraModule& m : w.modules) {
    int64_t row = 0;
    for (Proj p : m.info.projs) {
      const int64_t rows = proj_shape(model, p).first;
      LoraAdapter& ad = w.layers[size_t(m.layer)][size_t(p)];
      ad.mask_key = m.info.projs[0];
      ad.a = rows_view(w.storage, m.a, nullptr, 0, m.a.dim(0));  // shared by the module's projections
      ad.b = rows_view(w.storage, m.b, proj_name(p), row, rows);
      row += rows;
    }
  }
}
}  // namespace

LoraWeights allocate_lora(const ModelConfig& model, const LoraConfig& config, Allocator* alloc, DType dtype) {
  config.validate();
  LoraWeights w;
  w.config = config;
  w.storage = place_in_arena(std::string("lora (") + dtype_str(dtype) + ")", lora_slots(model, config, w, dtype),
                             alloc);
  bind_adapters(w, model);
  return w;
}

int64_t widest_adapted_input(const ModelConfig& model, const LoraConfig& config) {
  int64_t widest = 0;
  for (const auto& m : lora_targets(model, config)) widest = std::max(widest, proj_shape(model, m.projs[0]).second);
  return widest;
}

int64_t lora_bytes(const ModelConfig& model, const LoraConfig& config, DType dtype) {
  LoraWeights shapes_only;
  return arena_bytes(lora_slots(model, config, shapes_only, dtype));
}

void init_lora(LoraWeights& w, Rng& rng) {
  for (LoraModule& m : w.modules) {
    const double bound = 1.0 / std::sqrt(double(m.a.dim(1)));
    std::vector<float> a(size_t(m.a.numel()));
    for (auto& v : a) v = float((2.0 * rng.uniform() - 1.0) * bound);
    m.a.assign(a);
    m.b.zero();
  }
}

void for_each_tensor(LoraWeights& w, const std::function<void(Tensor&)>& fn) {
  for (LoraModule& m : w.modules) fn(m.a), fn(m.b);
}
void for_each_tensor(const LoraWeights& w, const std::function<void(const Tensor&)>& fn) {
  for (const LoraModule& m : w.modules) fn(m.a), fn(m.b);
}

void save_peft_adapter(const LoraWeights& w, const std::string& dir, const std::string& base_model) {
  std::filesystem::create_directories(dir);
  std::vector<Tensor> checkpoint_layout;  // GPT-NeoX's B rows per head, as the base checkpoint's
  checkpoint_layout.reserve(2 * w.modules.size());
  auto on_host = [](const Tensor& t) {
    Tensor h(t.name, t.shape, t.dtype());
    h.copy_from(t);
    return h;
  };
  for (const LoraModule& m : w.modules) {
    checkpoint_layout.push_back(on_host(m.a));
    checkpoint_layout.push_back(to_checkpoint_layout(on_host(m.b), m.info.interleaved_heads));
  }
  std::vector<const Tensor*> tensors;
  for (const Tensor& t : checkpoint_layout) tensors.push_back(&t);
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
  try {
    lora_targets(model, c);
  } catch (const std::exception& e) {
    fail(cfg_path, ": ", e.what());
  }
  LoraWeights w = allocate_lora(model, c);
  const SafetensorsFile f(dir + "/adapter_model.safetensors");
  auto load = [&](Tensor& t, int64_t interleaved_heads) {
    // PEFT writes "...lora_A.weight"; older versions "...lora_A.default.weight" in memory only.
    TANDEM_CHECK(f.has(t.name), f.path(), ": adapter has no tensor ", t.name);
    Tensor loaded = f.load(t.name);
    TANDEM_CHECK(loaded.shape == t.shape, f.path(), ": tensor ", t.name, " has shape ", shape_str(loaded.shape),
                 ", expected ", shape_str(t.shape));
    t.take_values(from_checkpoint_layout(std::move(loaded), interleaved_heads));
  };
  for (LoraModule& m : w.modules) {
    load(m.a, 0);
    load(m.b, m.info.interleaved_heads);
  }
  return w;
}

void merge_lora(ModelWeights& base, const LoraWeights& lora) {
  TANDEM_CHECK(base.layers.size() == lora.layers.size(), "merge_lora: adapter has ", lora.layers.size(),
               " layers, the model ", base.layers.size());
  for (size_t l = 0; l < lora.layers.size(); ++l)
    for (int p = 0; p < kNumProj; ++p) {
      const LoraAdapter& ad = lora.layers[l][size_t(p)];
      if (!ad.active()) continue;
      Tensor& w = proj_weight(base.layers[l], Proj(p));
      const int out = int(w.dim(0)), in = int(w.dim(1)), r = int(ad.a.dim(0));
      const std::vector<float> a = ad.a.to_floats(), b = ad.b.to_floats();  // adapters may be bf16
      gemm(false, false, out, in, r, float(lora.config.scale()), b.data(), r, a.data(), in, 1.0f, w.ptr(), in);
    }
}

}  // namespace tandem
