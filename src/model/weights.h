// The parameters of a decoder, each Tensor named with its family's Hugging Face name so that checkpoints, error
// messages and PyTorch references all speak the same language. Which tensors exist, their names, shapes, roles
// (initialisation, weight decay) and checkpoint layouts come from one table per architecture (model/tensor_table.h).
// The same struct holds gradients: one layout, walked by for_each_tensor in table order. Every tensor is a view into
// `storage`, one block per model (core/arena.h).
#pragma once
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "core/check.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "model/config.h"
#include "model/projections.h"
#include "model/tensor_table.h"

namespace tandem {

struct LayerWeights {
  Tensor attn_norm, attn_norm_bias;  // input_layernorm [d] (the bias: LayerNorm only)
  Tensor mlp_norm, mlp_norm_bias;    // post_attention_layernorm (Gemma-2: pre_feedforward_layernorm) [d]
  Tensor attn_out_norm;              // Gemma-2 post_attention_layernorm, on the attention output [d]
  Tensor mlp_out_norm;               // Gemma-2 post_feedforward_layernorm, on the MLP output [d]
  Tensor wq, wk, wv, wo;             // [out, in]
  Tensor bq, bk, bv, bo;             // biases, empty unless the config has them
  Tensor q_norm, k_norm;             // Qwen3 [head_dim], empty otherwise
  Tensor w_gate, w_up, w_down;       // MLP; w_gate empty for a plain MLP
  Tensor b_up, b_down;               // GPT-NeoX MLP biases
  // Fused checkpoint tensors, empty unless the layout has them: wq/wk/wv (bq/bk/bv) and w_gate/w_up are views of
  // their row blocks, so the layer computes with separate projections and the optimizer sees one tensor.
  Tensor qkv, qkv_bias, gate_up;
};

struct ModelWeights {
  ModelWeights() = default;
  ModelWeights(ModelWeights&&) = default;  // the views stay valid: the block's memory does not move
  ModelWeights& operator=(ModelWeights&&) = default;
  ModelWeights(const ModelWeights&) = delete;  // a copy would hold views of the original's block
  ModelWeights& operator=(const ModelWeights&) = delete;

  Tensor storage;  // the block every tensor below is a view of
  Tensor embed;    // [vocab, d]
  std::vector<LayerWeights> layers;
  Tensor final_norm, final_norm_bias;  // [d]
  Tensor lm_head;                      // [vocab, d]; empty when tied to embed
  std::vector<ParamInfo> params;       // the table the tensors were allocated from, in for_each_tensor order

  const Tensor& output_matrix() const { return lm_head.empty() ? embed : lm_head; }
  Tensor& output_matrix() { return lm_head.empty() ? embed : lm_head; }
  Tensor& param(const ParamInfo& p);
  const Tensor& param(const ParamInfo& p) const;
};

Tensor& proj_weight(LayerWeights& l, Proj p);
const Tensor& proj_weight(const LayerWeights& l, Proj p);
// The bias of projection p, or null when it has none.
Tensor* proj_bias(LayerWeights& l, Proj p);
const Tensor* proj_bias(const LayerWeights& l, Proj p);

// Zero-filled tensors of the right names and shapes, stored in `dtype` on `alloc`'s device (null: the host), in one
// block.
ModelWeights allocate_weights(const ModelConfig& c, Allocator* alloc = nullptr, DType dtype = DType::kF32);
// The bytes allocate_weights takes for `c` in `dtype` (the block, alignment included).
int64_t weights_bytes(const ModelConfig& c, DType dtype);

// Every parameter tensor (fused ones once, not their views), in table order.
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

// Normal(0, std) matrices, zero biases, norms at their identity (1, or 0 for Gemma's (1 + w) weights).
void init_random(ModelWeights& w, Rng& rng, double std = 0.02);

// Parameters of a model's weights/grads pair, with the usual weight-decay split (none for norms and biases).
std::vector<ParamRef> model_params(ModelWeights& weights, ModelWeights& grads);

}  // namespace tandem
