#include "model/architectures.h"

#include "core/check.h"

namespace tandem {

TensorNames llama_style_names() {
  return {.embed = "model.embed_tokens",
          .layer_prefix = "model.layers.",
          .final_norm = "model.norm",
          .lm_head = "lm_head",
          .attn_norm = "input_layernorm",
          .mlp_norm = "post_attention_layernorm",
          .attn_out_norm = "",
          .mlp_out_norm = "",
          .proj = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                   "mlp.up_proj", "mlp.down_proj"},
          .qkv = "",
          .gate_up = "",
          .q_norm = "self_attn.q_norm",
          .k_norm = "self_attn.k_norm"};
}

const std::vector<const Architecture*>& all_architectures() {
  static const std::vector<const Architecture*> all = {&llama_family(), &gpt_neox_family(), &gemma_family(),
                                                       &gemma2_family(), &phi3_family()};
  return all;
}

std::string supported_model_types() {
  std::string out;
  for (const Architecture* a : all_architectures())
    for (const auto& t : a->model_types) out += (out.empty() ? "" : ", ") + t;
  return out;
}

const Architecture& architecture_of(const std::string& model_type, const std::string& source) {
  for (const Architecture* a : all_architectures())
    for (const auto& t : a->model_types)
      if (t == model_type) return *a;
  fail(source, ": model_type '", model_type, "' is not supported (", supported_model_types(), ")");
}

}  // namespace tandem
