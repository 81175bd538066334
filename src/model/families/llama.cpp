// Llama, Mistral, Qwen2 and Qwen3: RMSNorm, SwiGLU, separate q/k/v projections; Qwen2 biases q/k/v, Qwen3
// normalises q and k per head.
#include "core/check.h"
#include "model/architectures.h"
#include "model/config_json.h"

namespace tandem {

namespace {
void read_llama(const nlohmann::json& j, ModelConfig& c, const std::string& source) {
  const bool qwen2 = c.model_type == "qwen2", qwen3 = c.model_type == "qwen3";
  if (!j.contains("architectures"))  // the class of the model type, not of the family's first member
    c.architecture = qwen2 ? "Qwen2ForCausalLM" : qwen3 ? "Qwen3ForCausalLM"
                     : c.model_type == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM";
  read_key(j, "tie_word_embeddings", c.tie_word_embeddings, source);
  c.activation = read_activation(j, "hidden_act", Activation::kSilu, source);
  TANDEM_CHECK(c.activation == Activation::kSilu, source, ": hidden_act '", hf_activation_name(c.activation),
               "' is not supported for ", c.model_type, " (silu)");
  require_key_value(j, "mlp_bias", false, source, "MLP biases exist in GPT-NeoX-shaped models only");
  read_attention_bias(j, c, source);
  c.qkv_bias = c.qkv_bias || qwen2;  // Qwen2 biases q, k and v whatever attention_bias says, and never o
  c.o_bias = c.o_bias && !qwen2;
  c.qk_norm = qwen3;

  // Mistral slides in every layer; Qwen gates the window with use_sliding_window, and only above max_window_layers.
  bool use_sliding = !qwen2 && !qwen3;
  read_key(j, "use_sliding_window", use_sliding, source);
  if (!use_sliding) return;
  read_key(j, "sliding_window", c.sliding_window, source);
  if (qwen2 || qwen3) {
    int64_t full_layers = 0;
    read_key(j, "max_window_layers", full_layers, source);
    TANDEM_CHECK(full_layers == 0 || c.sliding_window == 0, source, ": use_sliding_window with max_window_layers = ",
                 full_layers, " (full attention below that layer) is not supported");
  }
}

void write_llama(const ModelConfig& c, nlohmann::json& j) {
  j["hidden_act"] = "silu";
  if (c.model_type != "qwen2") j["attention_bias"] = c.qkv_bias;
  if (c.sliding_window > 0) {
    j["sliding_window"] = c.sliding_window;
    if (c.model_type == "qwen2" || c.model_type == "qwen3") j["use_sliding_window"] = true;
  }
}
}  // namespace

const Architecture& llama_family() {
  static const Architecture arch{
      .model_types = {"llama", "mistral", "qwen2", "qwen3"},
      .hf_class = "LlamaForCausalLM",
      .names = llama_style_names(),
      .read = read_llama,
      .write = write_llama,
      .norm_eps_key = "rms_norm_eps",
      .rope_theta_key = "rope_theta",
  };
  return arch;
}

}  // namespace tandem
