// GPT-NeoX (Pythia): LayerNorm with biases, a fused per-head query_key_value, partial rotary (rotary_pct), a GELU MLP
// with biases, and the parallel residual (use_parallel_residual).
#include "core/check.h"
#include "model/architectures.h"
#include "model/config_json.h"

namespace tandem {

namespace {
void read_gpt_neox(const nlohmann::json& j, ModelConfig& c, const std::string& source) {
  TANDEM_CHECK(!j.contains("num_key_value_heads") || j["num_key_value_heads"].is_null() ||
                   j["num_key_value_heads"] == c.num_attention_heads,
               source, ": num_key_value_heads must equal num_attention_heads for gpt_neox (no grouped-query attention)");
  c.norm = NormKind::kLayerNorm;
  c.norm_eps = 1e-5;
  read_key(j, "layer_norm_eps", c.norm_eps, source);
  c.rope_theta = 10000;
  read_key(j, "rotary_emb_base", c.rope_theta, source);
  c.rotary_fraction = 0.25;  // GPTNeoXConfig's default
  read_key(j, "rotary_pct", c.rotary_fraction, source);
  c.activation = read_activation(j, "hidden_act", Activation::kGelu, source);
  c.mlp = MlpKind::kPlain;
  c.mlp_bias = true;
  bool parallel = true;
  read_key(j, "use_parallel_residual", parallel, source);
  c.residual = parallel ? ResidualKind::kParallel : ResidualKind::kSequential;
  c.qkv_layout = QkvLayout::kFusedPerHead;
  c.qkv_bias = c.o_bias = true;  // GPTNeoXConfig's default
  read_attention_bias(j, c, source);
  c.tie_word_embeddings = false;
  read_key(j, "tie_word_embeddings", c.tie_word_embeddings, source);
}

void write_gpt_neox(const ModelConfig& c, nlohmann::json& j) {
  j.erase("num_key_value_heads");
  j.erase("head_dim");
  j["hidden_act"] = hf_activation_name(c.activation);
  j["rotary_pct"] = c.rotary_fraction;
  j["use_parallel_residual"] = c.residual == ResidualKind::kParallel;
  j["attention_bias"] = c.qkv_bias;
}
}  // namespace

const Architecture& gpt_neox_family() {
  static const Architecture arch{
      .model_types = {"gpt_neox"},
      .hf_class = "GPTNeoXForCausalLM",
      .names = {.embed = "gpt_neox.embed_in",
                .layer_prefix = "gpt_neox.layers.",
                .final_norm = "gpt_neox.final_layer_norm",
                .lm_head = "embed_out",
                .attn_norm = "input_layernorm",
                .mlp_norm = "post_attention_layernorm",
                .attn_out_norm = "",
                .mlp_out_norm = "",
                .proj = {"", "", "", "attention.dense", "", "mlp.dense_h_to_4h", "mlp.dense_4h_to_h"},
                .qkv = "attention.query_key_value",
                .gate_up = "",
                .q_norm = "",
                .k_norm = ""},
      .read = read_gpt_neox,
      .write = write_gpt_neox,
      .norm_eps_key = "layer_norm_eps",
      .rope_theta_key = "rotary_emb_base",
  };
  return arch;
}

}  // namespace tandem
