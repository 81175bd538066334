#include "model/config.h"

#include <cmath>

#include "core/check.h"
#include "io/json_file.h"
#include "model/architectures.h"
#include "model/config_json.h"

namespace tandem {

const char* norm_kind_name(NormKind k) {
  switch (k) {
    case NormKind::kRms: return "RMSNorm";
    case NormKind::kRmsOffset: return "RMSNorm (1 + w)";
    case NormKind::kLayerNorm: return "LayerNorm";
  }
  return "?";
}
const char* mlp_kind_name(MlpKind k) { return k == MlpKind::kGated ? "gated" : "plain"; }
const char* residual_kind_name(ResidualKind k) { return k == ResidualKind::kParallel ? "parallel" : "sequential"; }
const char* qkv_layout_name(QkvLayout k) {
  switch (k) {
    case QkvLayout::kSeparate: return "separate";
    case QkvLayout::kFused: return "fused";
    case QkvLayout::kFusedPerHead: return "fused per head";
  }
  return "?";
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& source) {
  TANDEM_CHECK(j.is_object(), source, ": config must be a JSON object");
  ModelConfig c;
  read_key(j, "model_type", c.model_type, source);
  const Architecture& arch = architecture_of(c.model_type, source);
  c.architecture = arch.hf_class;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty()) {
    TANDEM_CHECK(j["architectures"][0].is_string(), source, ": key 'architectures' must list strings, got ",
                 j["architectures"].dump());
    c.architecture = j["architectures"][0].get<std::string>();
  }

  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads"})
    TANDEM_CHECK(j.contains(key), source, ": missing required key '", key, "'");
  read_key(j, "vocab_size", c.vocab_size, source);
  read_key(j, "hidden_size", c.hidden_size, source);
  read_key(j, "intermediate_size", c.intermediate_size, source);
  read_key(j, "num_hidden_layers", c.num_hidden_layers, source);
  read_key(j, "num_attention_heads", c.num_attention_heads, source);
  c.num_key_value_heads = c.num_attention_heads;
  read_key(j, "num_key_value_heads", c.num_key_value_heads, source);
  TANDEM_CHECK(c.num_attention_heads > 0, source, ": num_attention_heads must be positive");
  c.head_dim = c.hidden_size / c.num_attention_heads;
  read_key(j, "head_dim", c.head_dim, source);
  read_key(j, "max_position_embeddings", c.max_position_embeddings, source);
  read_key(j, arch.norm_eps_key, c.norm_eps, source);
  read_key(j, arch.rope_theta_key, c.rope_theta, source);

  auto read_scaling = [&](const nlohmann::json& rs, const std::string& where) {
    TANDEM_CHECK(rs.is_object(), source, ": ", where, " must be an object");
    read_key(rs, "type", c.rope_scaling.type, source + ": " + where);
    read_key(rs, "rope_type", c.rope_scaling.type, source + ": " + where);
    read_key(rs, "factor", c.rope_scaling.factor, source);
    read_key(rs, "low_freq_factor", c.rope_scaling.low_freq_factor, source);
    read_key(rs, "high_freq_factor", c.rope_scaling.high_freq_factor, source);
    read_key(rs, "original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings, source);
  };
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) read_scaling(j["rope_scaling"], "rope_scaling");
  // transformers 5 writes rope_theta and the scaling together as rope_parameters (per layer type for some
  // families: the full-attention layers' entry is the model's rotary setting).
  if (j.contains("rope_parameters") && !j["rope_parameters"].is_null()) {
    const nlohmann::json* rp = &j["rope_parameters"];
    if (rp->is_object() && !rp->contains("rope_theta") && rp->contains("full_attention")) rp = &(*rp)["full_attention"];
    read_scaling(*rp, "rope_parameters");
    read_key(*rp, "rope_theta", c.rope_theta, source + ": rope_parameters");
  }
  arch.read(j, c, source);  // the family's settings, its tie_word_embeddings default included
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
  const Architecture& arch = architecture_of(model_type, source);
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
  TANDEM_CHECK(qkv_layout != QkvLayout::kFusedPerHead || num_key_value_heads == num_attention_heads, source,
               ": a per-head fused query_key_value needs as many key/value heads as query heads");
  TANDEM_CHECK(rotary_fraction > 0 && rotary_fraction <= 1 && rotary_dims() > 0 && rotary_dims() % 2 == 0, source,
               ": the rotary dimension (head_dim times the rotary fraction ", rotary_fraction,
               ") must be even and in (0, head_dim], got ", rotary_dims(), " of head_dim ", head_dim);
  auto positive = [&](const char* key, double v) {
    TANDEM_CHECK(std::isfinite(v) && v > 0, source, ": ", key, " must be a finite number > 0, got ", v);
  };
  auto non_negative = [&](const char* key, double v) {
    TANDEM_CHECK(std::isfinite(v) && v >= 0, source, ": ", key, " must be a finite number >= 0, got ", v);
  };
  positive(arch.norm_eps_key, norm_eps);
  positive(arch.rope_theta_key, rope_theta);
  non_negative("attention scale", attention_scale);
  non_negative("attn_logit_softcapping", attn_logit_softcap);
  non_negative("final_logit_softcapping", final_logit_softcap);
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
  const Architecture& arch = architecture_of(model_type);
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
      {arch.norm_eps_key, norm_eps},
      {arch.rope_theta_key, rope_theta},
      {"tie_word_embeddings", tie_word_embeddings},
      {"torch_dtype", "float32"},
  };
  if (rope_scaling.type != "default")
    j["rope_scaling"] = {{"rope_type", rope_scaling.type},
                         {"factor", rope_scaling.factor},
                         {"low_freq_factor", rope_scaling.low_freq_factor},
                         {"high_freq_factor", rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
  arch.write(*this, j);
  return j;
}

std::string ModelConfig::layer_summary() const {
  std::string s = std::string(norm_kind_name(norm)) + ", " + activation_name(activation) +
                  (mlp == MlpKind::kGated ? " gated MLP" : " MLP") + (mlp_bias ? " with biases" : "") + ", " +
                  residual_kind_name(residual) + " residual, q/k/v " + qkv_layout_name(qkv_layout);
  if (fused_gate_up) s += ", fused gate/up";
  if (qkv_bias) s += ", qkv bias";
  if (qk_norm) s += ", q/k norm";
  if (rotary_dims() != head_dim) s += ", rotary " + std::to_string(rotary_dims()) + "/" + std::to_string(head_dim);
  if (sandwich_norms) s += ", output norms";
  if (scale_embeddings) s += ", scaled embeddings";
  if (attention_scale > 0) s += ", score scale " + std::to_string(attention_scale);
  if (attn_logit_softcap > 0) s += ", score cap " + std::to_string(attn_logit_softcap);
  if (final_logit_softcap > 0) s += ", logit cap " + std::to_string(final_logit_softcap);
  if (sliding_window > 0)
    s += ", sliding window " + std::to_string(sliding_window) + (sliding_window_alternates ? " (even layers)" : "");
  if (tie_word_embeddings) s += ", tied embeddings";
  return s;
}

int64_t ModelConfig::num_parameters() const {
  const int64_t d = hidden_size, q = num_attention_heads * head_dim, kv = num_key_value_heads * head_dim;
  const int64_t F = intermediate_size;
  const int64_t norm_params = norm == NormKind::kLayerNorm ? 2 * d : d;
  int64_t layer = (sandwich_norms ? 4 : 2) * norm_params + d * q + 2 * d * kv + q * d;
  layer += (mlp == MlpKind::kGated ? 3 : 2) * d * F;
  if (mlp_bias) layer += F + d;
  if (qkv_bias) layer += q + 2 * kv;
  if (o_bias) layer += d;
  if (qk_norm) layer += 2 * head_dim;
  return vocab_size * d * (tie_word_embeddings ? 1 : 2) + norm_params + num_hidden_layers * layer;
}

}  // namespace tandem
