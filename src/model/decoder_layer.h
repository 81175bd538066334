// One decoder layer's forward pass, shared by training (DecoderModel) and KV-cached generation (KvDecoder): both run
// the same code over the same typed settings, and differ only in how a projection runs and where attention's keys
// come from (LayerOps). gemma.cpp deleted its separate training forward for the same reason: two copies drift.
#pragma once
#include <array>
#include <cstdint>

#include "backends/backend.h"
#include "model/activations.h"
#include "model/config.h"
#include "model/weights.h"

namespace tandem {

// A layer's saved activations (views into the model's activation block), and its LoRA branches.
struct LayerActs {
  std::array<Tensor, kNumActs> t;
  std::array<Tensor, kNumProj> lora_h, lora_x;  // x A^T, and the dropped-out input (dropout only)
  Tensor& operator[](Act a) { return t[size_t(a)]; }
  const Tensor& operator[](Act a) const { return t[size_t(a)]; }
};

// What differs between a training forward and a decoding step.
class LayerOps {
 public:
  virtual ~LayerOps() = default;
  // y = x W^T (+ b) (+ the LoRA branch) for projection p of layer l.
  virtual void project(int64_t l, Proj p, const Tensor& x, Tensor& y, LayerActs& a) = 0;
  // a[kAtt] from a[kQ], a[kK], a[kV] (rotated), scored as attention_scoring(config, l); training also saves a[kLse].
  virtual void attend(int64_t l, LayerActs& a) = 0;
};

// What one pass over the layers shares: rows = batch * seq.
struct LayerPass {
  Backend& backend;
  const ModelConfig& config;
  const ModelWeights& weights;
  int64_t batch, seq;
  const Tensor* positions;  // RoPE position per row (null: t)
  const Tensor& rope_cos;   // [positions, rotary_dims / 2]
  const Tensor& rope_sin;
  Tensor& scratch;          // [rows, d] in the matmul dtype: a branch's output before it joins the f32 residual
};

// x_out = layer l (x_in); x_out must not alias x_in (the parallel residual reads x_in after writing x_out).
void layer_forward(const LayerPass& pass, LayerOps& ops, int64_t l, const Tensor& x_in, LayerActs& a, Tensor& x_out);

// The model's norm kind (RMSNorm, Gemma's (1 + w) RMSNorm or LayerNorm) over rows of x; mean is used by LayerNorm
// only, bias may be empty.
void norm_forward(Backend& b, const ModelConfig& c, Tensor& out, Tensor& mean, Tensor& rstd, const Tensor& x,
                  const Tensor& weight, const Tensor& bias, int64_t rows);
void norm_backward(Backend& b, const ModelConfig& c, Tensor& dx, Tensor* dweight, Tensor* dbias, const Tensor& dout,
                   const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd, int64_t rows);

// How layer l forms attention scores.
AttentionScoring attention_scoring(const ModelConfig& c, int64_t l);

}  // namespace tandem
