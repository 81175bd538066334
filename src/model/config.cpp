#include "model/config.h"

#include <cmath>

#include "core/check.h"
#include "io/json_file.h"

namespace tandem {

namespace {
// `out` keeps its default when the key is absent or null; otherwise the value must have T's JSON type (integers
// stay integers: no 32000.5 or true truncated into a size). Errors name `source` and the key.
template <typename T>
void read(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
  out = json_get_or<T>(j, key, out, source);
}
}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& source) {
  TANDEM_CHECK(j.is_object(), source, ": config must be a JSON object");
  ModelConfig c;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty()) {
    TANDEM_CHECK(j["architectures"][0].is_string(), source, ": key 'architectures' must list strings, got ",
                 j["architectures"].dump());
    c.architecture = j["architectures"][0].get<std::string>();
  }
  read(j, "model_type", c.model_type, source);
  const bool qwen2 = c.model_type == "qwen2" || c.architecture == "Qwen2ForCausalLM";
  const bool qwen3 = c.model_type == "qwen3" || c.architecture == "Qwen3ForCausalLM";
  const bool known = qwen2 || qwen3 || c.model_type == "llama" || c.model_type == "mistral";
  TANDEM_CHECK(known, source, ": model_type '", c.model_type, "' is not supported (llama, mistral, qwen2, qwen3)");

  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads"})
    TANDEM_CHECK(j.contains(key), source, ": missing required key '", key, "'");
  read(j, "vocab_size", c.vocab_size, source);
  read(j, "hidden_size", c.hidden_size, source);
  read(j, "intermediate_size", c.intermediate_size, source);
  read(j, "num_hidden_layers", c.num_hidden_layers, source);
  read(j, "num_attention_heads", c.num_attention_heads, source);
  c.num_key_value_heads = c.num_attention_heads;
  read(j, "num_key_value_heads", c.num_key_value_heads, source);
  TANDEM_CHECK(c.num_attention_heads > 0, source, ": num_attention_heads must be positive");
  c.head_dim = c.hidden_size / c.num_attention_heads;
  read(j, "head_dim", c.head_dim, source);
  read(j, "max_position_embeddings", c.max_position_embeddings, source);
  read(j, "rms_norm_eps", c.rms_norm_eps, source);
  read(j, "rope_theta", c.rope_theta, source);
  read(j, "tie_word_embeddings", c.tie_word_embeddings, source);

  std::string act = "silu";
  read(j, "hidden_act", act, source);
  TANDEM_CHECK(act == "silu", source, ": hidden_act '", act, "' is not supported (silu)");
  bool mlp_bias = false;
  read(j, "mlp_bias", mlp_bias, source);
  TANDEM_CHECK(!mlp_bias, source, ": mlp_bias = true is not supported");

  if (qwen2) {
    c.qkv_bias = true;
  } else if (!qwen3) {
    bool attention_bias = false;
    read(j, "attention_bias", attention_bias, source);
    c.qkv_bias = c.o_bias = attention_bias;
  } else {
    bool attention_bias = false;
    read(j, "attention_bias", attention_bias, source);
    c.qkv_bias = c.o_bias = attention_bias;
    c.qk_norm = true;
  }

  // Sliding-window attention only changes results for sequences longer than the window.
  bool use_sliding = !qwen2 && !qwen3;  // Qwen gates it with use_sliding_window
  read(j, "use_sliding_window", use_sliding, source);
  if (use_sliding) read(j, "sliding_window", c.sliding_window, source);

  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const auto& rs = j["rope_scaling"];
    TANDEM_CHECK(rs.is_object(), source, ": rope_scaling must be an object");
    read(rs, "type", c.rope_scaling.type, source + ": rope_scaling");
    read(rs, "rope_type", c.rope_scaling.type, source + ": rope_scaling");
    read(rs, "factor", c.rope_scaling.factor, source);
    read(rs, "low_freq_factor", c.rope_scaling.low_freq_factor, source);
    read(rs, "high_freq_factor", c.rope_scaling.high_freq_factor, source);
    read(rs, "original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings, source);
  }
  c.validate(source);
  return c;
}

ModelConfig ModelConfig::from_file(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  return naming_json_errors(path, [&] { return from_json(j, path); });  // the library's type errors name the file
}

void ModelConfig::validate(const std::string& source) const {
  // Sizes in (0, limit]: the limits are far beyond any released model, and keep every size the engine derives
  // (tensor elements, parameter counts, bytes) inside int64 and the kernels' int strides.
  auto size = [&](const char* key, int64_t v, int64_t limit) {
    TANDEM_CHECK(v > 0, source, ": ", key, " must be > 0, got ", v);
    TANDEM_CHECK(v <= limit, source, ": ", key, " = ", v, " exceeds the limit ", limit, " (", why_limit(key), ")");
  };
  size("vocab_size", vocab_size, kMaxVocab);
  size("hidden_size", hidden_size, kMaxWidth);
  size("intermediate_size", intermediate_size, kMaxWidth);
  size("num_hidden_layers", num_hidden_layers, kMaxLayers);
  size("num_attention_heads", num_attention_heads, kMaxHeads);
  size("num_key_value_heads", num_key_value_heads, kMaxHeads);
  size("head_dim", head_dim, kMaxHeadDim);
  size("max_position_embeddings", max_position_embeddings, kMaxPositions);
  TANDEM_CHECK(sliding_window >= 0 && sliding_window <= kMaxPositions, source, ": sliding_window must be in [0, ",
               kMaxPositions, "], got ", sliding_window);
  TANDEM_CHECK(num_attention_heads % num_key_value_heads == 0, source, ": num_attention_heads (",
               num_attention_heads, ") must be a multiple of num_key_value_heads (", num_key_value_heads, ")");
  TANDEM_CHECK(head_dim % 2 == 0, source, ": head_dim must be even for RoPE, got ", head_dim);
  auto positive = [&](const char* key, double v) {
    TANDEM_CHECK(std::isfinite(v) && v > 0, source, ": ", key, " must be a finite number > 0, got ", v);
  };
  positive("rms_norm_eps", rms_norm_eps);
  positive("rope_theta", rope_theta);
  const auto& t = rope_scaling.type;
  TANDEM_CHECK(t == "default" || t == "linear" || t == "llama3", source, ": rope_scaling type '", t,
               "' is not supported (default, linear, llama3)");
  if (t == "default") return;
  positive("rope_scaling.factor", rope_scaling.factor);
  if (t != "llama3") return;
  positive("rope_scaling.low_freq_factor", rope_scaling.low_freq_factor);
  positive("rope_scaling.high_freq_factor", rope_scaling.high_freq_factor);
  TANDEM_CHECK(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor, source,
               ": rope_scaling.high_freq_factor (", rope_scaling.high_freq_factor,
               ") must exceed low_freq_factor (", rope_scaling.low_freq_factor, ")");
  TANDEM_CHECK(rope_scaling.original_max_position_embeddings > 0 &&
                   rope_scaling.original_max_position_embeddings <= kMaxPositions,
               source, ": rope_scaling.original_max_position_embeddings must be in (0, ", kMaxPositions, "], got ",
               rope_scaling.original_max_position_embeddings);
}

const char* ModelConfig::why_limit(const std::string& key) {
  if (key == "vocab_size") return "token ids are int32";
  if (key == "num_hidden_layers") return "far beyond released models: Llama-3.1-405B has 126";
  if (key == "max_position_embeddings") return "positions are int32 and RoPE tables are positions x head_dim";
  return "no released model comes near it; sizes derived from it must fit int64";
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {
      {"architectures", {architecture}},
      {"model_type", model_type},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
      {"head_dim", head_dim},
      {"max_position_embeddings", max_position_embeddings},
      {"rms_norm_eps", rms_norm_eps},
      {"rope_theta", rope_theta},
      {"tie_word_embeddings", tie_word_embeddings},
      {"hidden_act", "silu"},
      {"torch_dtype", "float32"},
  };
  if (model_type == "llama" || model_type == "qwen3") j["attention_bias"] = qkv_bias;
  if (sliding_window > 0) {
    j["sliding_window"] = sliding_window;
    if (model_type == "qwen2" || model_type == "qwen3") j["use_sliding_window"] = true;
  }
  if (rope_scaling.type != "default")
    j["rope_scaling"] = {{"rope_type", rope_scaling.type},
                         {"factor", rope_scaling.factor},
                         {"low_freq_factor", rope_scaling.low_freq_factor},
                         {"high_freq_factor", rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
  return j;
}

int64_t ModelConfig::num_parameters() const {
  const int64_t d = hidden_size, q = num_attention_heads * head_dim, kv = num_key_value_heads * head_dim;
  int64_t layer = 2 * d + d * q + 2 * d * kv + q * d + 3 * d * intermediate_size;
  if (qkv_bias) layer += q + 2 * kv;
  if (o_bias) layer += d;
  if (qk_norm) layer += 2 * head_dim;
  return vocab_size * d * (tie_word_embeddings ? 1 : 2) + d + num_hidden_layers * layer;
}

}  // namespace tandem
