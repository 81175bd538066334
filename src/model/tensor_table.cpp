#include "model/tensor_table.h"

#include <cstring>

#include "core/check.h"
#include "model/architectures.h"
#include "model/weights.h"

namespace tandem {

std::vector<ParamInfo> tensor_table(const ModelConfig& c) {
  const TensorNames& n = architecture_of(c.model_type).names;
  const int64_t d = c.hidden_size, D = c.head_dim, F = c.intermediate_size;
  const int64_t q = c.num_attention_heads * D, kv = c.num_key_value_heads * D;
  const bool layer_norm = c.norm == NormKind::kLayerNorm;
  const float identity = c.norm == NormKind::kRmsOffset ? 0.0f : 1.0f;
  std::vector<ParamInfo> t;
  auto global = [&](std::string name, Shape shape, ParamRole role, Tensor ModelWeights::*m) {
    t.push_back({.name = std::move(name), .shape = shape, .role = role, .in_model = m});
  };
  global(std::string(n.embed) + ".weight", {c.vocab_size, d}, ParamRole::kEmbedding, &ModelWeights::embed);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = n.layer_prefix + std::to_string(l) + ".";
    auto add = [&](const std::string& name, Shape shape, ParamRole role, Tensor LayerWeights::*m, int64_t heads = 0) {
      t.push_back({.name = p + name, .shape = shape, .role = role, .layer = l, .in_layer = m,
                   .interleaved_heads = heads});
    };
    auto norm = [&](const char* name, Tensor LayerWeights::*w, Tensor LayerWeights::*b) {
      add(std::string(name) + ".weight", {d}, ParamRole::kNormScale, w);
      t.back().identity = identity;
      if (layer_norm) add(std::string(name) + ".bias", {d}, ParamRole::kNormBias, b);
    };
    auto proj = [&](Proj pr, Tensor LayerWeights::*w, Tensor LayerWeights::*b, bool biased) {
      const auto [out, in] = proj_shape(c, pr);
      const std::string base = n.proj[size_t(pr)];
      add(base + ".weight", {out, in}, ParamRole::kMatrix, w);
      if (biased) add(base + ".bias", {out}, ParamRole::kBias, b);
    };

    norm(n.attn_norm, &LayerWeights::attn_norm, &LayerWeights::attn_norm_bias);
    if (c.qkv_layout == QkvLayout::kSeparate) {
      proj(Proj::kQ, &LayerWeights::wq, &LayerWeights::bq, c.qkv_bias);
      proj(Proj::kK, &LayerWeights::wk, &LayerWeights::bk, c.qkv_bias);
      proj(Proj::kV, &LayerWeights::wv, &LayerWeights::bv, c.qkv_bias);
    } else {
      const int64_t heads = c.qkv_layout == QkvLayout::kFusedPerHead ? c.num_attention_heads : 0;
      add(std::string(n.qkv) + ".weight", {q + 2 * kv, d}, ParamRole::kMatrix, &LayerWeights::qkv, heads);
      if (c.qkv_bias) add(std::string(n.qkv) + ".bias", {q + 2 * kv}, ParamRole::kBias, &LayerWeights::qkv_bias, heads);
    }
    if (c.qk_norm) {
      add(std::string(n.q_norm) + ".weight", {D}, ParamRole::kNormScale, &LayerWeights::q_norm);
      t.back().identity = identity;
      add(std::string(n.k_norm) + ".weight", {D}, ParamRole::kNormScale, &LayerWeights::k_norm);
      t.back().identity = identity;
    }
    proj(Proj::kO, &LayerWeights::wo, &LayerWeights::bo, c.o_bias);
    if (c.sandwich_norms) norm(n.attn_out_norm, &LayerWeights::attn_out_norm, nullptr);
    norm(n.mlp_norm, &LayerWeights::mlp_norm, &LayerWeights::mlp_norm_bias);
    if (c.fused_gate_up) {
      add(std::string(n.gate_up) + ".weight", {2 * F, d}, ParamRole::kMatrix, &LayerWeights::gate_up);
    } else {
      if (c.mlp == MlpKind::kGated) proj(Proj::kGate, &LayerWeights::w_gate, nullptr, false);
      proj(Proj::kUp, &LayerWeights::w_up, &LayerWeights::b_up, c.mlp_bias);
    }
    proj(Proj::kDown, &LayerWeights::w_down, &LayerWeights::b_down, c.mlp_bias);
    if (c.sandwich_norms) norm(n.mlp_out_norm, &LayerWeights::mlp_out_norm, nullptr);
  }
  global(std::string(n.final_norm) + ".weight", {d}, ParamRole::kNormScale, &ModelWeights::final_norm);
  t.back().identity = identity;
  if (layer_norm) global(std::string(n.final_norm) + ".bias", {d}, ParamRole::kNormBias, &ModelWeights::final_norm_bias);
  if (!c.tie_word_embeddings)
    global(std::string(n.lm_head) + ".weight", {c.vocab_size, d}, ParamRole::kMatrix, &ModelWeights::lm_head);
  return t;
}

namespace {
// Row r of the model's [q; k; v] order is row `checkpoint_row(r)` of the per-head [q_h; k_h; v_h] order.
Tensor permute_rows(const Tensor& t, int64_t heads, bool to_model) {
  const int64_t rows = t.dim(0), width = t.numel() / rows;
  TANDEM_CHECK(rows % (3 * heads) == 0, "tensor ", t.name, ": ", rows, " rows do not split into q, k, v of ", heads,
               " heads");
  const int64_t D = rows / (3 * heads);
  Tensor out(t.name, t.shape, t.dtype());
  const int64_t row_bytes = width * dtype_bytes(t.dtype());
  const auto* src = static_cast<const char*>(t.raw());
  auto* dst = static_cast<char*>(out.raw());
  for (int64_t part = 0; part < 3; ++part)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < D; ++i) {
        const int64_t model_row = (part * heads + h) * D + i, checkpoint_row = (h * 3 + part) * D + i;
        const int64_t from = to_model ? checkpoint_row : model_row, to = to_model ? model_row : checkpoint_row;
        std::memcpy(dst + to * row_bytes, src + from * row_bytes, size_t(row_bytes));
      }
  return out;
}
}  // namespace

Tensor from_checkpoint_layout(Tensor t, int64_t interleaved_heads) {
  return interleaved_heads > 0 ? permute_rows(t, interleaved_heads, true) : t;
}

Tensor to_checkpoint_layout(const Tensor& t, int64_t interleaved_heads) {
  return interleaved_heads > 0 ? permute_rows(t, interleaved_heads, false) : t;
}

}  // namespace tandem
