#include "model/weights.h"

#include <string>

#include "core/arena.h"
#include "core/check.h"

namespace tandem {

namespace {
constexpr const char* kProjNames[kNumProj] = {"q", "k", "v", "o", "gate", "up", "down"};
Tensor LayerWeights::*const kProjWeight[kNumProj] = {&LayerWeights::wq, &LayerWeights::wk,     &LayerWeights::wv,
                                                      &LayerWeights::wo, &LayerWeights::w_gate, &LayerWeights::w_up,
                                                      &LayerWeights::w_down};
Tensor LayerWeights::*const kProjBias[kNumProj] = {&LayerWeights::bq, &LayerWeights::bk, &LayerWeights::bv,
                                                    &LayerWeights::bo, nullptr,  // no family biases its gate
                                                    &LayerWeights::b_up, &LayerWeights::b_down};
}  // namespace

const char* proj_name(Proj p) { return kProjNames[int(p)]; }

std::pair<int64_t, int64_t> proj_shape(const ModelConfig& c, Proj p) {
  const int64_t d = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const int64_t f = c.intermediate_size;
  switch (p) {
    case Proj::kQ: return {q, d};
    case Proj::kK: case Proj::kV: return {kv, d};
    case Proj::kO: return {d, q};
    case Proj::kGate: return c.mlp == MlpKind::kGated ? std::pair<int64_t, int64_t>{f, d} : std::pair<int64_t, int64_t>{0, 0};
    case Proj::kUp: return {f, d};
    default: return {d, f};
  }
}

bool proj_exists(const ModelConfig& c, Proj p) { return p != Proj::kGate || c.mlp == MlpKind::kGated; }

Tensor& proj_weight(LayerWeights& l, Proj p) { return l.*kProjWeight[int(p)]; }
const Tensor& proj_weight(const LayerWeights& l, Proj p) { return l.*kProjWeight[int(p)]; }
Tensor* proj_bias(LayerWeights& l, Proj p) {
  Tensor LayerWeights::*m = kProjBias[int(p)];
  return m && !(l.*m).empty() ? &(l.*m) : nullptr;
}
const Tensor* proj_bias(const LayerWeights& l, Proj p) { return proj_bias(const_cast<LayerWeights&>(l), p); }

Tensor& ModelWeights::param(const ParamInfo& p) {
  return p.in_layer ? layers[size_t(p.layer)].*p.in_layer : this->*p.in_model;
}
const Tensor& ModelWeights::param(const ParamInfo& p) const { return const_cast<ModelWeights*>(this)->param(p); }

namespace {
// Points the separate projections at the row blocks of the fused tensors.
void bind_fused_views(ModelWeights& w, const ModelConfig& c) {
  const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const int64_t F = c.intermediate_size;
  for (LayerWeights& l : w.layers) {
    if (!l.qkv.empty()) {
      l.wq = rows_view(w.storage, l.qkv, "q", 0, q);
      l.wk = rows_view(w.storage, l.qkv, "k", q, kv);
      l.wv = rows_view(w.storage, l.qkv, "v", q + kv, kv);
    }
    if (!l.qkv_bias.empty()) {
      l.bq = rows_view(w.storage, l.qkv_bias, "q", 0, q);
      l.bk = rows_view(w.storage, l.qkv_bias, "k", q, kv);
      l.bv = rows_view(w.storage, l.qkv_bias, "v", q + kv, kv);
    }
    if (!l.gate_up.empty()) {
      l.w_gate = rows_view(w.storage, l.gate_up, "gate", 0, F);
      l.w_up = rows_view(w.storage, l.gate_up, "up", F, F);
    }
  }
}

std::vector<TensorSlot> weight_slots(ModelWeights& w, const ModelConfig& c, DType dtype) {
  w.params = tensor_table(c);
  w.layers.resize(size_t(c.num_hidden_layers));
  std::vector<TensorSlot> slots;
  for (const ParamInfo& p : w.params) slots.push_back({&w.param(p), p.name, p.shape, dtype});
  return slots;
}
}  // namespace

ModelWeights allocate_weights(const ModelConfig& c, Allocator* alloc, DType dtype) {
  ModelWeights w;
  w.storage = place_in_arena(std::string("weights (") + dtype_str(dtype) + ")", weight_slots(w, c, dtype), alloc);
  bind_fused_views(w, c);
  return w;
}

int64_t weights_bytes(const ModelConfig& c, DType dtype) {
  ModelWeights shapes_only;
  return arena_bytes(weight_slots(shapes_only, c, dtype));
}

void for_each_tensor(ModelWeights& w, const std::function<void(Tensor&)>& fn) {
  for (const ParamInfo& p : w.params) fn(w.param(p));
}
void for_each_tensor(const ModelWeights& w, const std::function<void(const Tensor&)>& fn) {
  for (const ParamInfo& p : w.params) fn(w.param(p));
}

void init_random(ModelWeights& w, Rng& rng, double std) {
  for (const ParamInfo& p : w.params) {
    Tensor& t = w.param(p);
    std::vector<float> v(size_t(t.numel()), p.identity);
    if (p.role == ParamRole::kEmbedding || p.role == ParamRole::kMatrix)
      for (auto& x : v) x = static_cast<float>(rng.normal() * std);
    t.assign(v);
  }
}

std::vector<ParamRef> model_params(ModelWeights& weights, ModelWeights& grads) {
  TANDEM_CHECK(weights.params.size() == grads.params.size(), "model_params: weights and grads differ in layout");
  std::vector<ParamRef> out;
  for (size_t i = 0; i < weights.params.size(); ++i)
    out.push_back({&weights.param(weights.params[i]), &grads.param(grads.params[i]), weights.params[i].decays()});
  return out;
}

}  // namespace tandem
