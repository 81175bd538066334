#include "model/weights.h"

#include <algorithm>
#include <string>

#include "core/arena.h"
#include "core/check.h"

namespace tandem {

namespace {
constexpr const char* kProjNames[kNumProj] = {"q_proj", "k_proj",    "v_proj",   "o_proj",
                                              "gate_proj", "up_proj", "down_proj"};
constexpr const char* kProjPaths[kNumProj] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                              "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                              "mlp.down_proj"};
Tensor LayerWeights::*const kProjWeight[kNumProj] = {&LayerWeights::wq, &LayerWeights::wk,     &LayerWeights::wv,
                                                      &LayerWeights::wo, &LayerWeights::w_gate, &LayerWeights::w_up,
                                                      &LayerWeights::w_down};
Tensor LayerWeights::*const kProjBias[kNumProj] = {&LayerWeights::bq, &LayerWeights::bk, &LayerWeights::bv,
                                                    &LayerWeights::bo, nullptr, nullptr, nullptr};
}  // namespace

const char* proj_name(Proj p) { return kProjNames[int(p)]; }
const char* proj_path(Proj p) { return kProjPaths[int(p)]; }

std::pair<int64_t, int64_t> proj_shape(const ModelConfig& c, Proj p) {
  const int64_t d = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const int64_t f = c.intermediate_size;
  switch (p) {
    case Proj::kQ: return {q, d};
    case Proj::kK: case Proj::kV: return {kv, d};
    case Proj::kO: return {d, q};
    case Proj::kGate: case Proj::kUp: return {f, d};
    default: return {d, f};
  }
}

Tensor& proj_weight(LayerWeights& l, Proj p) { return l.*kProjWeight[int(p)]; }
const Tensor& proj_weight(const LayerWeights& l, Proj p) { return l.*kProjWeight[int(p)]; }
Tensor* proj_bias(LayerWeights& l, Proj p) { return kProjBias[int(p)] ? &(l.*kProjBias[int(p)]) : nullptr; }
const Tensor* proj_bias(const LayerWeights& l, Proj p) {
  return kProjBias[int(p)] ? &(l.*kProjBias[int(p)]) : nullptr;
}

namespace {
// The slot table of a model: every tensor's name and shape, in for_each_tensor order. Sizes w.layers.
std::vector<TensorSlot> weight_slots(const ModelConfig& c, ModelWeights& w, DType dtype) {
  const int64_t d = c.hidden_size;
  std::vector<TensorSlot> slots;
  auto add = [&](Tensor& t, std::string name, Shape shape) { slots.push_back({&t, std::move(name), shape, dtype}); };
  w.layers.resize(size_t(c.num_hidden_layers));
  add(w.embed, "model.embed_tokens.weight", {c.vocab_size, d});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights& l = w.layers[size_t(i)];
    auto add_proj = [&](Proj proj) {
      const auto [out, in] = proj_shape(c, proj);
      add(proj_weight(l, proj), p + proj_path(proj) + ".weight", {out, in});
    };
    add(l.input_norm, p + "input_layernorm.weight", {d});
    for (Proj proj : {Proj::kQ, Proj::kK, Proj::kV, Proj::kO}) add_proj(proj);
    for (Proj proj : {Proj::kQ, Proj::kK, Proj::kV, Proj::kO}) {
      const bool biased = proj == Proj::kO ? c.o_bias : c.qkv_bias;
      if (biased) add(*proj_bias(l, proj), p + proj_path(proj) + ".bias", {proj_shape(c, proj).first});
    }
    if (c.qk_norm) {
      add(l.q_norm, p + "self_attn.q_norm.weight", {c.head_dim});
      add(l.k_norm, p + "self_attn.k_norm.weight", {c.head_dim});
    }
    add(l.post_norm, p + "post_attention_layernorm.weight", {d});
    for (Proj proj : {Proj::kGate, Proj::kUp, Proj::kDown}) add_proj(proj);
  }
  add(w.final_norm, "model.norm.weight", {d});
  if (!c.tie_word_embeddings) add(w.lm_head, "lm_head.weight", {c.vocab_size, d});
  return slots;
}
}  // namespace

ModelWeights allocate_weights(const ModelConfig& c, Allocator* alloc, DType dtype) {
  ModelWeights w;
  w.storage = place_in_arena(std::string("weights (") + dtype_str(dtype) + ")", weight_slots(c, w, dtype), alloc);
  return w;
}

int64_t weights_bytes(const ModelConfig& c, DType dtype) {
  ModelWeights shapes_only;
  return arena_bytes(weight_slots(c, shapes_only, dtype));
}

namespace {
template <typename W, typename Fn>
void visit(W& w, Fn&& fn) {
  auto maybe = [&](auto& t) {
    if (!t.empty()) fn(t);
  };
  maybe(w.embed);
  for (auto& l : w.layers)
    for (auto* t : {&l.input_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.bo, &l.q_norm, &l.k_norm,
                    &l.post_norm, &l.w_gate, &l.w_up, &l.w_down})
      maybe(*t);
  maybe(w.final_norm);
  maybe(w.lm_head);
}
}  // namespace

void for_each_tensor(ModelWeights& w, const std::function<void(Tensor&)>& fn) { visit(w, fn); }
void for_each_tensor(const ModelWeights& w, const std::function<void(const Tensor&)>& fn) { visit(w, fn); }

void init_random(ModelWeights& w, Rng& rng, double std) {
  for_each_tensor(w, [&](Tensor& t) {
    const bool is_norm = t.name.find("norm") != std::string::npos;
    const bool is_bias = t.name.ends_with(".bias");
    std::vector<float> v(size_t(t.numel()), is_norm ? 1.0f : 0.0f);
    if (!is_norm && !is_bias)
      for (auto& x : v) x = static_cast<float>(rng.normal() * std);
    t.assign(v);
  });
}

std::vector<ParamRef> model_params(ModelWeights& weights, ModelWeights& grads) {
  std::vector<Tensor*> values, gradients;
  for_each_tensor(weights, [&](Tensor& t) { values.push_back(&t); });
  for_each_tensor(grads, [&](Tensor& t) { gradients.push_back(&t); });
  TANDEM_CHECK(values.size() == gradients.size(), "model_params: weights and grads differ in layout");
  std::vector<ParamRef> out;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& n = values[i]->name;
    const bool no_decay = n.find("norm") != std::string::npos || n.ends_with(".bias");
    out.push_back({values[i], gradients[i], !no_decay});
  }
  return out;
}

}  // namespace tandem
