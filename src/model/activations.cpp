#include "model/activations.h"

#include "core/arena.h"

namespace tandem {

namespace {
constexpr const char* kActNames[kNumActs] = {
    "h1",  "mean1", "rstd1", "q_pre", "k_pre", "rstd_q", "rstd_k", "q",  "k",       "v",       "att",        "lse",
    "attn_out", "rstd_attn_out", "x_mid", "h2", "mean2", "rstd2", "gate", "up", "mlp_act", "mlp_out", "rstd_mlp_out"};
}  // namespace

const char* act_name(Act a) { return kActNames[int(a)]; }

Shape act_shape(Act a, const ModelConfig& c, int64_t B, int64_t T) {
  const int64_t N = B * T, d = c.hidden_size, H = c.num_attention_heads, G = c.num_key_value_heads;
  const int64_t q = H * c.head_dim, kv = G * c.head_dim, F = c.intermediate_size;
  const bool layer_norm = c.norm == NormKind::kLayerNorm, sandwich = c.sandwich_norms;
  switch (a) {
    case Act::kH1: case Act::kH2: return {N, d};
    case Act::kXMid: return {c.residual == ResidualKind::kSequential ? N : 0, d};
    case Act::kRstd1: case Act::kRstd2: return {N};
    case Act::kMean1: case Act::kMean2: return {layer_norm ? N : 0};
    case Act::kQPre: return {c.qk_norm ? N : 0, q};
    case Act::kKPre: return {c.qk_norm ? N : 0, kv};
    case Act::kRstdQ: return {c.qk_norm ? N * H : 0};
    case Act::kRstdK: return {c.qk_norm ? N * G : 0};
    case Act::kQ: case Act::kAtt: return {N, q};
    case Act::kK: case Act::kV: return {N, kv};
    case Act::kLse: return {B * H * T};
    case Act::kAttnOut: case Act::kMlpOut: return {sandwich ? N : 0, d};
    case Act::kRstdAttnOut: case Act::kRstdMlpOut: return {sandwich ? N : 0};
    case Act::kGate: return {c.mlp == MlpKind::kGated ? N : 0, F};
    case Act::kUp: case Act::kMlpAct: return {N, F};
  }
  return {0};
}

DType act_dtype(Act a, DType dtype) {
  switch (a) {
    case Act::kRstd1: case Act::kRstd2: case Act::kRstdQ: case Act::kRstdK: case Act::kLse: case Act::kXMid:
    case Act::kMean1: case Act::kMean2: case Act::kRstdAttnOut: case Act::kRstdMlpOut:
      return DType::kF32;
    default: return dtype;
  }
}

ActivationLayout activation_layout(const ModelConfig& c, int64_t B, int64_t T, bool recompute, DType dtype) {
  ActivationLayout lay;
  auto place = [&](int64_t numel, DType type) {  // the next aligned offset of the block (core/arena.h)
    const int64_t at = lay.bytes;
    lay.bytes += arena_span(numel, type);
    return at;
  };
  const int64_t N = B * T, L = c.num_hidden_layers;
  lay.layers.resize(size_t(recompute ? 1 : L));
  for (auto& table : lay.layers)
    for (int a = 0; a < kNumActs; ++a)
      table[size_t(a)] = place(shape_numel(act_shape(Act(a), c, B, T)), act_dtype(Act(a), dtype));
  for (int64_t l = 0; l <= L; ++l) lay.residual.push_back(place(N * c.hidden_size, DType::kF32));
  lay.final_norm_out = place(N * c.hidden_size, dtype);
  lay.final_norm_rstd = place(N, DType::kF32);
  lay.final_norm_mean = place(c.norm == NormKind::kLayerNorm ? N : 0, DType::kF32);
  return lay;
}

int64_t activation_bytes(const ModelConfig& c, int64_t B, int64_t T, bool recompute, DType dtype) {
  return activation_layout(c, B, T, recompute, dtype).bytes;
}

}  // namespace tandem
