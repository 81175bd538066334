// LoRA adapters for the linear layers of a decoder, stored under PEFT's tensor names
// (base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight, ...) and saved/loaded in PEFT's format:
// adapter_config.json + adapter_model.safetensors. Targets are the family's module names (q_proj, ... for Llama;
// query_key_value, dense, dense_h_to_4h, dense_4h_to_h for GPT-NeoX; qkv_proj, gate_up_proj for Phi-3). An adapter
// on a fused module (one A, one B over all its rows) is, for the layer, one adapter per projection that shares A and
// takes its rows of B: exactly PEFT's computation.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "model/config.h"
#include "model/weights.h"

namespace tandem {

struct LoraConfig {
  int64_t r = 16;
  double alpha = 32;
  double dropout = 0.0;
  // Module names of the model's family, or "all-linear"; empty: the family's attention projections.
  std::vector<std::string> target_modules;
  double scale() const { return alpha / double(r); }
  void validate() const;
};

// One PEFT module: a linear layer of the checkpoint (a fused one covers several projections).
struct LoraModuleInfo {
  std::string name;         // "query_key_value": what target_modules names
  std::string path;         // "attention.query_key_value", inside a layer
  std::vector<Proj> projs;  // the projections whose rows it holds, in row order
  int64_t interleaved_heads = 0;  // GPT-NeoX's per-head rows (model/tensor_table.h)
};
// The family's linear modules, in layer order.
std::vector<LoraModuleInfo> lora_module_infos(const ModelConfig& model);
// The modules `config` targets; an unknown name is an error listing the family's modules.
std::vector<LoraModuleInfo> lora_targets(const ModelConfig& model, const LoraConfig& config);
bool lora_targets_proj(const ModelConfig& model, const LoraConfig& config, Proj p);

struct LoraAdapter {
  Tensor a, b;  // lora_A [r, in], lora_B [out, r]: views of the module's tensors (b: this projection's rows)
  Proj mask_key = Proj::kQ;  // the module's first projection: one dropout mask per module, as PEFT draws
  bool active() const { return !a.empty(); }
};

struct LoraModule {
  int64_t layer;
  LoraModuleInfo info;
  Tensor a, b;  // [r, in], [rows of all its projections, r]
};

struct LoraWeights {
  LoraWeights() = default;
  LoraWeights(LoraWeights&&) = default;  // as ModelWeights: every adapter is a view into `storage`
  LoraWeights& operator=(LoraWeights&&) = default;
  LoraWeights(const LoraWeights&) = delete;
  LoraWeights& operator=(const LoraWeights&) = delete;

  LoraConfig config;
  Tensor storage;
  std::vector<LoraModule> modules;                        // the saved tensors, in PEFT order
  std::vector<std::array<LoraAdapter, kNumProj>> layers;  // per projection, views of the modules
};

// Zero adapters of the right names and shapes for every targeted projection, stored in `dtype` on `alloc`'s device
// (null: host), in one block.
LoraWeights allocate_lora(const ModelConfig& model, const LoraConfig& config, Allocator* alloc = nullptr,
                          DType dtype = DType::kF32);
// The largest `in` of the projections `config` adapts (the width of LoRA dropout's per-row scratch).
int64_t widest_adapted_input(const ModelConfig& model, const LoraConfig& config);
// The bytes allocate_lora takes (the block, alignment included).
int64_t lora_bytes(const ModelConfig& model, const LoraConfig& config, DType dtype);
// PEFT's initialisation: A ~ kaiming-uniform (bound 1/sqrt(in)), B = 0, so the adapted model starts as the base.
void init_lora(LoraWeights& w, Rng& rng);
void for_each_tensor(LoraWeights& w, const std::function<void(Tensor&)>& fn);
void for_each_tensor(const LoraWeights& w, const std::function<void(const Tensor&)>& fn);

void save_peft_adapter(const LoraWeights& w, const std::string& dir, const std::string& base_model = "");
LoraWeights load_peft_adapter(const std::string& dir, const ModelConfig& model);

// W += (alpha / r) * B A for every adapter: the model then computes what base + adapters computed. A host
// transform of host tensors (merge-lora reads and writes checkpoints).
void merge_lora(ModelWeights& base, const LoraWeights& lora);

}  // namespace tandem
