// Gemma and Gemma-2: RMSNorm with a (1 + w) weight, GeGLU (tanh GELU), embeddings scaled by sqrt(hidden_size), tied
// embeddings. Gemma-2 adds norms on the attention and MLP outputs, score and logit soft-capping, a query scale of
// query_pre_attn_scalar^-0.5 and a sliding window on even layers.
#include <cmath>

#include "core/check.h"
#include "model/architectures.h"
#include "model/config_json.h"

namespace tandem {

namespace {
void read_gemma(const nlohmann::json& j, ModelConfig& c, const std::string& source) {
  c.norm = NormKind::kRmsOffset;
  c.scale_embeddings = true;
  // Gemma's config names the MLP activation hidden_activation; hidden_act is read when that is absent or null.
  c.activation = read_activation(j, "hidden_act", Activation::kGeluTanh, source);
  if (j.contains("hidden_activation") && !j["hidden_activation"].is_null())
    c.activation = read_activation(j, "hidden_activation", c.activation, source);
  read_attention_bias(j, c, source);
  c.tie_word_embeddings = true;
  read_key(j, "tie_word_embeddings", c.tie_word_embeddings, source);
}

void read_gemma2(const nlohmann::json& j, ModelConfig& c, const std::string& source) {
  read_gemma(j, c, source);
  c.sandwich_norms = true;
  double query_pre_attn_scalar = 256;  // Gemma2Config's defaults
  read_key(j, "query_pre_attn_scalar", query_pre_attn_scalar, source);
  TANDEM_CHECK(query_pre_attn_scalar > 0, source, ": query_pre_attn_scalar must be > 0, got ", query_pre_attn_scalar);
  c.attention_scale = 1.0 / std::sqrt(query_pre_attn_scalar);
  c.attn_logit_softcap = 50.0;
  c.final_logit_softcap = 30.0;
  // null turns soft-capping off
  if (j.contains("attn_logit_softcapping")) c.attn_logit_softcap = json_get_or(j, "attn_logit_softcapping", 0.0, source);
  if (j.contains("final_logit_softcapping"))
    c.final_logit_softcap = json_get_or(j, "final_logit_softcapping", 0.0, source);
  c.sliding_window = 4096;
  if (j.contains("sliding_window")) c.sliding_window = json_get_or<int64_t>(j, "sliding_window", 0, source);
  c.sliding_window_alternates = true;
}

void write_gemma(const ModelConfig& c, nlohmann::json& j) {
  j["hidden_act"] = hf_activation_name(c.activation);
  j["hidden_activation"] = hf_activation_name(c.activation);
  j["attention_bias"] = c.qkv_bias;
}

void write_gemma2(const ModelConfig& c, nlohmann::json& j) {
  write_gemma(c, j);
  const double scalar = 1.0 / (c.attention_scale * c.attention_scale);
  const double whole = std::round(scalar);  // the integer a config gave back, not 255.99999999999997
  j["query_pre_attn_scalar"] = std::abs(scalar - whole) < 1e-9 * whole ? whole : scalar;
  j["attn_logit_softcapping"] = c.attn_logit_softcap > 0 ? nlohmann::json(c.attn_logit_softcap) : nlohmann::json();
  j["final_logit_softcapping"] = c.final_logit_softcap > 0 ? nlohmann::json(c.final_logit_softcap) : nlohmann::json();
  j["sliding_window"] = c.sliding_window > 0 ? nlohmann::json(c.sliding_window) : nlohmann::json();
}

}  // namespace

const Architecture& gemma_family() {
  static const Architecture arch{.model_types = {"gemma"},
                                 .hf_class = "GemmaForCausalLM",
                                 .names = llama_style_names(),
                                 .read = read_gemma,
                                 .write = write_gemma,
                                 .norm_eps_key = "rms_norm_eps",
                                 .rope_theta_key = "rope_theta"};
  return arch;
}

const Architecture& gemma2_family() {
  TensorNames names = llama_style_names();
  // Gemma-2's post_attention_layernorm normalises the attention output; the MLP's input norm has its own name.
  names.mlp_norm = "pre_feedforward_layernorm";
  names.attn_out_norm = "post_attention_layernorm";
  names.mlp_out_norm = "post_feedforward_layernorm";
  static const Architecture arch{.model_types = {"gemma2"},
                                 .hf_class = "Gemma2ForCausalLM",
                                 .names = names,
                                 .read = read_gemma2,
                                 .write = write_gemma2,
                                 .norm_eps_key = "rms_norm_eps",
                                 .rope_theta_key = "rope_theta"};
  return arch;
}

}  // namespace tandem
