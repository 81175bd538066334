#include "model/weights.h"

#include <algorithm>
#include <string>

namespace tandem {

ModelWeights allocate_weights(const ModelConfig& c) {
  const int64_t d = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  ModelWeights w;
  w.embed = Tensor("model.embed_tokens.weight", {c.vocab_size, d});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights l;
    l.input_norm = Tensor(p + "input_layernorm.weight", {d});
    l.wq = Tensor(p + "self_attn.q_proj.weight", {q, d});
    l.wk = Tensor(p + "self_attn.k_proj.weight", {kv, d});
    l.wv = Tensor(p + "self_attn.v_proj.weight", {kv, d});
    l.wo = Tensor(p + "self_attn.o_proj.weight", {d, q});
    if (c.qkv_bias) {
      l.bq = Tensor(p + "self_attn.q_proj.bias", {q});
      l.bk = Tensor(p + "self_attn.k_proj.bias", {kv});
      l.bv = Tensor(p + "self_attn.v_proj.bias", {kv});
    }
    if (c.o_bias) l.bo = Tensor(p + "self_attn.o_proj.bias", {d});
    if (c.qk_norm) {
      l.q_norm = Tensor(p + "self_attn.q_norm.weight", {c.head_dim});
      l.k_norm = Tensor(p + "self_attn.k_norm.weight", {c.head_dim});
    }
    l.post_norm = Tensor(p + "post_attention_layernorm.weight", {d});
    l.w_gate = Tensor(p + "mlp.gate_proj.weight", {c.intermediate_size, d});
    l.w_up = Tensor(p + "mlp.up_proj.weight", {c.intermediate_size, d});
    l.w_down = Tensor(p + "mlp.down_proj.weight", {d, c.intermediate_size});
    w.layers.push_back(std::move(l));
  }
  w.final_norm = Tensor("model.norm.weight", {d});
  if (!c.tie_word_embeddings) w.lm_head = Tensor("lm_head.weight", {c.vocab_size, d});
  return w;
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
    if (is_norm) std::fill(t.data.begin(), t.data.end(), 1.0f);
    else if (is_bias) t.zero();
    else
      for (auto& v : t.data) v = static_cast<float>(rng.normal() * std);
  });
}

}  // namespace tandem
