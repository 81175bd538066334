// LoRA adapters for the linear layers of a Llama-family model, stored under PEFT's tensor names
// (base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight, ...) and saved/loaded in PEFT's format:
// adapter_config.json + adapter_model.safetensors.
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
  std::vector<std::string> target_modules = {"q_proj", "k_proj", "v_proj", "o_proj"};
  double scale() const { return alpha / double(r); }
  bool targets(Proj p) const;
  void validate() const;
};

struct LoraAdapter {
  Tensor a, b;  // lora_A [r, in], lora_B [out, r]
  bool active() const { return !a.empty(); }
};

struct LoraWeights {
  LoraWeights() = default;
  LoraWeights(LoraWeights&&) = default;  // as ModelWeights: every adapter is a view into `storage`
  LoraWeights& operator=(LoraWeights&&) = default;
  LoraWeights(const LoraWeights&) = delete;
  LoraWeights& operator=(const LoraWeights&) = delete;

  LoraConfig config;
  Tensor storage;
  std::vector<std::array<LoraAdapter, kNumProj>> layers;
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
