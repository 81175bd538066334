// The model families Tandem loads, one entry each: which config.json keys set which layer settings, and the Hugging
// Face names of its tensors. Adding a family is one entry (model/families/*.cpp); the decoder, trainer, objectives
// and strategies read only ModelConfig's settings.
#pragma once
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/projections.h"

namespace tandem {

// Tensor names of a family, before the ".weight" / ".bias" suffix. Per-layer names follow
// `layer_prefix` + index + "."; an empty name is a tensor the family does not have.
struct TensorNames {
  const char* embed;          // model.embed_tokens
  const char* layer_prefix;   // model.layers.
  const char* final_norm;     // model.norm
  const char* lm_head;        // lm_head
  const char* attn_norm;      // input_layernorm
  const char* mlp_norm;       // post_attention_layernorm (Gemma-2: pre_feedforward_layernorm)
  const char* attn_out_norm;  // Gemma-2: post_attention_layernorm
  const char* mlp_out_norm;   // Gemma-2: post_feedforward_layernorm
  std::array<const char*, kNumProj> proj;  // self_attn.q_proj, ...; for fused layouts only o and down are used
  const char* qkv;            // fused q/k/v: self_attn.qkv_proj, attention.query_key_value
  const char* gate_up;        // fused gate/up: mlp.gate_up_proj
  const char* q_norm;         // self_attn.q_norm
  const char* k_norm;         // self_attn.k_norm
};

// The names of Hugging Face's Llama modelling code (model.layers.N.self_attn.q_proj, ...), which Mistral, Qwen,
// Gemma and Phi-3 reuse; those families start from it and change what differs.
TensorNames llama_style_names();

struct Architecture {
  std::vector<std::string> model_types;  // config.json model_type values, the first is written
  std::string hf_class;                  // architectures[0] written to config.json
  TensorNames names;
  // Sets the family's layer settings from config.json (sizes and RoPE are read before); an unsupported value is an
  // error naming `source` and the key.
  void (*read)(const nlohmann::json& j, ModelConfig& c, const std::string& source);
  // Writes the family's own keys (sizes and RoPE are written by ModelConfig::to_json).
  void (*write)(const ModelConfig& c, nlohmann::json& j);
  // The key of the normalisation epsilon and of the RoPE base, as the family names them.
  const char* norm_eps_key;
  const char* rope_theta_key;
};

// The family of `model_type`; an unknown one is an error naming `source` and listing the supported types.
const Architecture& architecture_of(const std::string& model_type, const std::string& source = "config.json");
// Every family, in the order errors list them.
const std::vector<const Architecture*>& all_architectures();
// "llama, mistral, qwen2, ...": for error messages and --help.
std::string supported_model_types();

// Family entries (model/families/*.cpp).
const Architecture& llama_family();
const Architecture& gpt_neox_family();
const Architecture& gemma_family();
const Architecture& gemma2_family();
const Architecture& phi3_family();

}  // namespace tandem
