// Phi-3: a Llama-shaped block whose q/k/v (qkv_proj) and gate/up (gate_up_proj) projections are fused tensors, with
// optional partial rotary (partial_rotary_factor).
#include "core/check.h"
#include "model/architectures.h"
#include "model/config_json.h"

namespace tandem {

namespace {
void read_phi3(const nlohmann::json& j, ModelConfig& c, const std::string& source) {
  if (!j.contains("rms_norm_eps") || j["rms_norm_eps"].is_null()) c.norm_eps = 1e-5;  // Phi3Config's default
  c.activation = read_activation(j, "hidden_act", Activation::kSilu, source);
  c.qkv_layout = QkvLayout::kFused;
  c.fused_gate_up = true;
  read_key(j, "partial_rotary_factor", c.rotary_fraction, source);
  read_attention_bias(j, c, source);
  read_key(j, "sliding_window", c.sliding_window, source);
  read_key(j, "tie_word_embeddings", c.tie_word_embeddings, source);
}

TensorNames phi3_names() {
  TensorNames n = llama_style_names();
  n.proj[size_t(Proj::kQ)] = n.proj[size_t(Proj::kK)] = n.proj[size_t(Proj::kV)] = "";
  n.proj[size_t(Proj::kGate)] = n.proj[size_t(Proj::kUp)] = "";
  n.qkv = "self_attn.qkv_proj";
  n.gate_up = "mlp.gate_up_proj";
  return n;
}

void write_phi3(const ModelConfig& c, nlohmann::json& j) {
  j["hidden_act"] = hf_activation_name(c.activation);
  j["partial_rotary_factor"] = c.rotary_fraction;
  j["attention_bias"] = c.qkv_bias;
  j["sliding_window"] = c.sliding_window > 0 ? nlohmann::json(c.sliding_window) : nlohmann::json();
}
}  // namespace

const Architecture& phi3_family() {
  static const Architecture arch{
      .model_types = {"phi3"},
      .hf_class = "Phi3ForCausalLM",
      .names = phi3_names(),
      .read = read_phi3,
      .write = write_phi3,
      .norm_eps_key = "rms_norm_eps",
      .rope_theta_key = "rope_theta",
  };
  return arch;
}

}  // namespace tandem
