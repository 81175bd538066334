// The parameters of a Llama-family decoder, each Tensor named with its Hugging Face name so that
// checkpoints, error messages and PyTorch references all speak the same language.
// The same struct holds gradients: one layout, walked by for_each_tensor. Every tensor is a view into `storage`, one
// block per model (core/arena.h), laid out in for_each_tensor order.
#pragma once
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "core/check.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "model/config.h"

namespace tandem {

struct LayerWeights {
  Tensor input_norm;               // input_layernorm.weight [d]
  Tensor wq, wk, wv, wo;           // self_attn.{q,k,v,o}_proj.weight [out, in]
  Tensor bq, bk, bv, bo;           // biases, empty unless the config has them
  Tensor q_norm, k_norm;           // Qwen3 [head_dim], empty otherwise
  Tensor post_norm;                // post_attention_layernorm.weight [d]
  Tensor w_gate, w_up, w_down;     // mlp.{gate,up,down}_proj.weight
};

struct ModelWeights {
  ModelWeights() = default;
  ModelWeights(ModelWeights&&) = default;  // the views stay valid: the block's memory does not move
  ModelWeights& operator=(ModelWeights&&) = default;
  ModelWeights(const ModelWeights&) = delete;  // a copy would hold views of the original's block
  ModelWeights& operator=(const ModelWeights&) = delete;

  Tensor storage;                  // the block every tensor below is a view of
  Tensor embed;                    // model.embed_tokens.weight [vocab, d]
  std::vector<LayerWeights> layers;
  Tensor final_norm;               // model.norm.weight [d]
  Tensor lm_head;                  // lm_head.weight [vocab, d]; empty when tied to embed

  const Tensor& output_matrix() const { return lm_head.empty() ? embed : lm_head; }
  Tensor& output_matrix() { return lm_head.empty() ? embed : lm_head; }
};

// The seven linear projections of a layer. One table maps each to its Hugging Face name, shape and tensors, so
// allocation, the forward/backward passes, generation and LoRA all agree.
enum class Proj { kQ, kK, kV, kO, kGate, kUp, kDown };
constexpr int kNumProj = 7;
const char* proj_name(Proj p);  // "q_proj", ...
const char* proj_path(Proj p);  // "self_attn.q_proj", ...
std::pair<int64_t, int64_t> proj_shape(const ModelConfig& c, Proj p);  // [out, in]
Tensor& proj_weight(LayerWeights& l, Proj p);
const Tensor& proj_weight(const LayerWeights& l, Proj p);
// The bias tensor (empty when the config has none), or null for the MLP projections, which never have one.
Tensor* proj_bias(LayerWeights& l, Proj p);
const Tensor* proj_bias(const LayerWeights& l, Proj p);

// Zero-filled tensors of the right names and shapes, stored in `dtype` on `alloc`'s device (null: the host), in one
// block.
ModelWeights allocate_weights(const ModelConfig& c, Allocator* alloc = nullptr, DType dtype = DType::kF32);
// The bytes allocate_weights takes for `c` in `dtype` (the block, alignment included).
int64_t weights_bytes(const ModelConfig& c, DType dtype);

// Every non-empty tensor, in a fixed order (embed, layers, final norm, lm head).
void for_each_tensor(ModelWeights& w, const std::function<void(Tensor&)>& fn);
void for_each_tensor(const ModelWeights& w, const std::function<void(const Tensor&)>& fn);

// dst's values become src's, tensor by tensor (same layout; converted to dst's dtype and device). W: ModelWeights
// or LoraWeights.
template <typename W>
void copy_values(W& dst, const W& src) {
  std::vector<Tensor*> to;
  for_each_tensor(dst, [&](Tensor& t) { to.push_back(&t); });
  size_t i = 0;
  for_each_tensor(src, [&](const Tensor& t) {
    TANDEM_CHECK(i < to.size() && to[i]->name == t.name, "copy_values: layouts differ at tensor ", t.name);
    to[i++]->copy_from(t);
  });
  TANDEM_CHECK(i == to.size(), "copy_values: the source has ", i, " tensors, the destination ", to.size());
}

// Normal(0, std) matrices, unit norms, zero biases: the usual from-scratch initialisation.
void init_random(ModelWeights& w, Rng& rng, double std = 0.02);

// Parameters of a model's weights/grads pair, with the usual weight-decay split (none for norms and biases).
std::vector<ParamRef> model_params(ModelWeights& weights, ModelWeights& grads);

}  // namespace tandem
