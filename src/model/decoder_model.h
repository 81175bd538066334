// A decoder model with an explicit, hand-written backward pass, for every family of model/architectures.h (Llama,
// Mistral, Qwen2/3, GPT-NeoX, Gemma, Gemma-2, Phi-3): the layer reads ModelConfig's typed settings, never a family's
// name, and its forward is model/decoder_layer.h's, shared with generation.
//
// forward() maps a padded batch to per-sequence summed log-probs of the scored tokens; backward() takes
// dL/dlogp per sequence and adds the gradient of every parameter into grads(). Every objective Tandem
// trains (SFT, DPO and relatives) is a function of those per-sequence sums, so this is the whole interface.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "backends/backend.h"
#include "model/activations.h"
#include "model/batch.h"
#include "model/config.h"
#include "model/decoder_layer.h"
#include "model/lora.h"
#include "model/weights.h"

namespace tandem {

class DecoderModel : private LayerOps {
 public:
  // Weights, gradients and activations live on `backend`; every computation is one of its ops.
  // `dtype` (f32 or bf16) stores the weights; see set_bf16.
  explicit DecoderModel(const ModelConfig& config, Backend& backend = cpu_backend(), DType dtype = DType::kF32);

  const ModelConfig& config() const { return config_; }
  Backend& backend() const { return backend_; }
  ModelWeights& weights() { return weights_; }
  const ModelWeights& weights() const { return weights_; }
  ModelWeights& grads();  // allocated (zeroed) on first use
  void zero_grads();      // the trainable parameters' gradients
  // What an optimizer should update: every weight, or with LoRA only the adapters.
  std::vector<ParamRef> trainable_params();

  // LoRA (PEFT semantics): fresh adapters (A random, B = 0, so the model starts as the base) or loaded ones.
  // With adapters the base weights are frozen: no base gradient is allocated or computed (no dW GEMMs).
  void enable_lora(const LoraConfig& config, Rng& rng);
  void set_lora(LoraWeights lora);
  bool has_lora() const { return !lora_.layers.empty(); }
  LoraWeights& lora() { return lora_; }
  const LoraWeights& lora() const { return lora_; }
  const LoraWeights& lora_grads() const { return lora_grads_; }  // the adapters' gradients, same layout
  // Adapters off: the model computes its base, which is the DPO reference under LoRA (no second copy).
  void set_adapters_enabled(bool on) { adapters_on_ = on; }
  // The adapter applied to projection p of layer l, or null (no LoRA there, or adapters off).
  const LoraAdapter* adapter(int64_t l, Proj p) const;
  // Training mode turns on LoRA dropout. Masks are a function of (seed, forward counter, layer, projection),
  // so recomputed activations and resumed runs see the same masks.
  void set_training(bool on) { training_ = on; }
  void set_dropout_seed(uint64_t seed) { dropout_seed_ = seed; }
  uint64_t dropout_counter() const { return dropout_counter_; }
  void set_dropout_counter(uint64_t c) { dropout_counter_ = c; }

  // bf16 training: weights and the saved matmul activations in bf16, computed with fp32 accumulation; the residual
  // stream, norm statistics, softmax and every gradient stay f32, and AdamW keeps f32 master weights. Converts the
  // current weights (and adapters) in place.
  void set_bf16(bool on);
  bool bf16() const { return dtype_ == DType::kBF16; }
  DType dtype() const { return dtype_; }

  // Keep only each layer's input and recompute the layer in the backward pass: ~1/8 of the activation
  // memory for one extra forward.
  void set_recompute(bool on) { recompute_ = on; }
  // Rows of logits materialised at a time by the LM head (0: automatic, about 8M logits).
  void set_logits_chunk_rows(int64_t rows) { logits_chunk_rows_ = rows; }

  // Saves what backward() needs.
  SequenceLogprobs forward(const Batch& batch);
  // dlogp[s] = dL / d(sequence s's summed log-prob). Must follow forward() of the same batch.
  void backward(const std::vector<float>& dlogp);
  // One pass for losses whose per-sequence gradient is known up front (SFT: -1/num_tokens per sequence):
  // the LM head computes log-probs and their gradient from one set of logits.
  SequenceLogprobs forward_backward(const Batch& batch, const std::vector<float>& dlogp);

  // Called on the backward pass as gradients become final, so data-parallel ranks can start reducing them while the
  // rest of the backward runs: kHeadDone after the LM head (the untied output matrix), then each layer l from the
  // top down, then kBackwardDone (embeddings, final norm, everything). Empty: no calls.
  static constexpr int64_t kHeadDone = -1, kBackwardDone = -2;
  void set_backward_progress(std::function<void(int64_t)> on_done) { on_backward_progress_ = std::move(on_done); }

  // Full logits [B*T, vocab] at every position, for evaluation and tests on short batches.
  std::vector<float> logits(const Batch& batch);

  // Bytes of the activation block of the last forward (for memory reports): activation_bytes(config, B, T,
  // recompute, dtype) of model/activations.h, which is how it was sized.
  int64_t activation_bytes() const { return activations_.bytes(); }

 private:
  struct GradScratch {
    Tensor dres, dxf, dh, dh2, dbranch, dq, dk, dv, dq_pre, dk_pre, datt, dact, dgate, dup;
    Tensor dx_lora, mask;                  // LoRA dropout: views of these blocks
    Tensor dx_lora_block, mask_block;
  };

  bool base_trainable() const { return !has_lora(); }
  // A buffer of `shape` on the backend, re-allocated only when the shape changes (contents unspecified), and the
  // same zero-filled (backward ops add into their outputs).
  Tensor& buffer(Tensor& t, const char* name, const Shape& shape, DType dtype = DType::kF32);
  Tensor& zeros(Tensor& t, const char* name, const Shape& shape);
  void layout_activations();
  Tensor lora_scratch(Tensor& block, const char* name, const Shape& shape);
  Tensor& dropout_mask(int64_t l, Proj p, int64_t n);
  // LayerOps: y = x W^T (+ b) (+ LoRA branch) for projection p of layer l; attention over the batch.
  void project(int64_t l, Proj p, const Tensor& x, Tensor& y, LayerActs& a) override;
  void attend(int64_t l, LayerActs& a) override;
  // dx += the projection's input gradient; weight, bias and adapter gradients added when trainable.
  void project_backward(int64_t l, Proj p, const Tensor& dy, const Tensor& x, Tensor& dx, LayerActs& a);
  void upload_batch(const Batch& batch);
  void run_layers(const Batch& batch);
  void layer_forward(int64_t l, const Tensor& x_in, LayerActs& a, Tensor& x_out);
  void layer_backward(int64_t l, const Tensor& x_in, LayerActs& a, Tensor& dres);
  // dh = the gradient of a branch's input norm output, from dout, the gradient of the branch's contribution.
  void attention_backward(int64_t l, LayerActs& a, const Tensor& dout, Tensor& dh);
  void mlp_backward(int64_t l, LayerActs& a, const Tensor& dout, Tensor& dh);
  // The gradient of a branch's projection output through its output norm (Gemma-2), or dout itself.
  const Tensor& through_output_norm(const Tensor& dout, const Tensor& norm_w, Tensor* dnorm_w, Act saved,
                                    Act saved_rstd, LayerActs& a);
  LayerPass layer_pass();
  void backward_layers();
  void build_scoring(const Batch& batch);
  SequenceLogprobs collect(const std::vector<float>& pair_logp) const;
  AttentionMaskTensors attention_mask() const;
  AttentionShape attention_shape(int64_t l) const;
  std::vector<float> lm_head(const std::vector<float>* dlogp);

  ModelConfig config_;
  Backend& backend_;
  DType dtype_ = DType::kF32;  // storage of weights and matmul activations
  ModelWeights weights_, grads_;
  bool grads_ready_ = false;
  LoraWeights lora_, lora_grads_;
  bool adapters_on_ = true, training_ = false;
  uint64_t dropout_seed_ = 0, dropout_counter_ = 0;
  bool recompute_ = false;
  int64_t logits_chunk_rows_ = 0;
  std::function<void(int64_t)> on_backward_progress_;

  Batch batch_;  // the batch of the last forward (host copy: scoring and result collection)
  // The batch's integer inputs on the device, i32: tokens [B*T], lengths [B], RoPE positions and attention
  // structure [B*T] (empty when absent), scored pairs' rows and targets [pairs].
  Tensor tokens_, lengths_, positions_, segment_start_, prefix_end_, pair_rows_t_, pair_targets_t_;
  Tensor rope_cos_, rope_sin_;  // [positions, head_dim / 2], f32
  // Scored (row, target, sequence) triples of the current batch.
  std::vector<int32_t> pair_rows_, pair_targets_, pair_sequence_;
  int64_t num_sequences_ = 0;
  // Saved activations: views into one block laid out by activation_layout (model/activations.h).
  Tensor activations_;             // the block
  std::array<int64_t, 4> layout_key_{};  // (B, T, recompute, dtype) it was laid out for
  std::vector<Tensor> residual_;   // [layers + 1] of [N, d]: input of each layer, then the final one
  std::vector<LayerActs> acts_;    // one per layer, or one shared when recomputing
  Tensor xf_, rstd_f_, mean_f_;    // final norm output and its statistics (the mean: LayerNorm only)
  Tensor scratch_out_;            // a recomputed layer's (discarded) output
  Tensor proj_out_;               // a branch's output before it joins the f32 residual stream (LayerPass::scratch)
  GradScratch g_;
};

}  // namespace tandem
