#include "model/config_json.h"

#include "core/check.h"

namespace tandem {


const char* hf_activation_name(Activation act) {
  return act == Activation::kGeluTanh ? "gelu_pytorch_tanh" : activation_name(act);
}

Activation read_activation(const nlohmann::json& j, const char* key, Activation fallback, const std::string& source) {
  std::string name = hf_activation_name(fallback);
  read_key(j, key, name, source);
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "gelu") return Activation::kGelu;
  // gelu_fast is the same tanh formula written differently.
  if (name == "gelu_pytorch_tanh" || name == "gelu_new" || name == "gelu_fast") return Activation::kGeluTanh;
  fail(source, ": ", key, " '", name, "' is not supported (silu, gelu, gelu_pytorch_tanh, gelu_new, gelu_fast)");
}

void read_attention_bias(const nlohmann::json& j, ModelConfig& c, const std::string& source) {
  bool bias = c.qkv_bias;
  read_key(j, "attention_bias", bias, source);
  c.qkv_bias = c.o_bias = bias;
}

void require_key_value(const nlohmann::json& j, const char* key, const nlohmann::json& supported,
                       const std::string& source, const char* why) {
  if (!j.contains(key) || j[key].is_null() || j[key] == supported) return;
  fail(source, ": ", key, " = ", j[key].dump(), " is not supported (", why, ")");
}

}  // namespace tandem
