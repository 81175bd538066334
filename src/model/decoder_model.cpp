#include "model/decoder_model.h"

#include <algorithm>
#include <cmath>

#include "core/arena.h"
#include "core/check.h"
#include "model/rope_table.h"

namespace tandem {

namespace {
Tensor* opt(Tensor& t) { return t.empty() ? nullptr : &t; }
}  // namespace

DecoderModel::DecoderModel(const ModelConfig& config, Backend& backend, DType dtype)
    : config_(config), backend_(backend), dtype_(dtype), weights_(allocate_weights(config, &backend, dtype)) {
  config_.validate();
  TANDEM_CHECK(dtype == DType::kF32 || dtype == DType::kBF16, "model: weights are stored in f32 or bf16, not ",
               dtype_str(dtype));
}

ModelWeights& DecoderModel::grads() {
  if (!grads_ready_) {
    grads_ = allocate_weights(config_, &backend_, DType::kF32);  // gradients are f32 whatever the storage
    grads_ready_ = true;
  }
  return grads_;
}

void DecoderModel::zero_grads() {
  if (has_lora()) {
    lora_grads_.storage.zero();
    return;
  }
  grads().storage.zero();  // one block: one fill
}

std::vector<ParamRef> DecoderModel::trainable_params() {
  if (!has_lora()) return model_params(weights_, grads());
  std::vector<Tensor*> values, gradients;
  for_each_tensor(lora_, [&](Tensor& t) { values.push_back(&t); });
  for_each_tensor(lora_grads_, [&](Tensor& t) { gradients.push_back(&t); });
  std::vector<ParamRef> out;
  for (size_t i = 0; i < values.size(); ++i) out.push_back({values[i], gradients[i], true});
  return out;
}

void DecoderModel::enable_lora(const LoraConfig& config, Rng& rng) {
  LoraWeights w = allocate_lora(config_, config, &backend_);
  init_lora(w, rng);
  set_lora(std::move(w));
}

void DecoderModel::set_lora(LoraWeights lora) {
  TANDEM_CHECK(int64_t(lora.layers.size()) == config_.num_hidden_layers, "LoRA adapter has ", lora.layers.size(),
               " layers, the model ", config_.num_hidden_layers);
  lora_ = allocate_lora(config_, lora.config, &backend_, dtype_);  // on this backend, in this dtype, one block
  copy_values(lora_, lora);
  lora_grads_ = allocate_lora(config_, lora_.config, &backend_);
  grads_ = ModelWeights{};  // the base is frozen: its gradients are never needed
  grads_ready_ = false;
}

const LoraAdapter* DecoderModel::adapter(int64_t l, Proj p) const {
  if (!has_lora() || !adapters_on_) return nullptr;
  const LoraAdapter& ad = lora_.layers[l][int(p)];
  return ad.active() ? &ad : nullptr;
}

void DecoderModel::set_bf16(bool on) {
  const DType want = on ? DType::kBF16 : DType::kF32;
  if (want == dtype_) return;
  dtype_ = want;
  ModelWeights converted = allocate_weights(config_, &backend_, want);
  copy_values(converted, weights_);
  weights_ = std::move(converted);
  if (has_lora()) {
    LoraWeights lora = allocate_lora(config_, lora_.config, &backend_, want);
    copy_values(lora, lora_);
    lora_ = std::move(lora);
  }
}

Tensor& DecoderModel::buffer(Tensor& t, const char* name, const Shape& shape, DType dtype) {
  return ensure_tensor(backend_, t, name, shape, dtype);
}

Tensor& DecoderModel::zeros(Tensor& t, const char* name, const Shape& shape) {
  buffer(t, name, shape).zero();
  return t;
}

void DecoderModel::layout_activations() {
  const std::array<int64_t, 4> key{batch_.batch, batch_.seq, recompute_, int64_t(dtype_)};
  if (key == layout_key_ && !activations_.empty()) return;
  const int64_t B = batch_.batch, T = batch_.seq, N = B * T, d = config_.hidden_size;
  const ActivationLayout lay = activation_layout(config_, B, T, recompute_, dtype_);
  acts_.clear(), residual_.clear();  // views of the old block go before it does
  activations_ = arena_block("activations", lay.bytes, &backend_);
  acts_.resize(lay.layers.size());
  for (size_t l = 0; l < acts_.size(); ++l)
    for (int a = 0; a < kNumActs; ++a)
      acts_[l].t[size_t(a)] = Tensor::view(act_name(Act(a)), act_shape(Act(a), config_, B, T),
                                           act_dtype(Act(a), dtype_), activations_, lay.layers[l][size_t(a)]);
  for (int64_t offset : lay.residual)
    residual_.push_back(Tensor::view("residual", {N, d}, DType::kF32, activations_, offset));
  xf_ = Tensor::view("final_norm_out", {N, d}, dtype_, activations_, lay.final_norm_out);
  rstd_f_ = Tensor::view("final_norm_rstd", {N}, DType::kF32, activations_, lay.final_norm_rstd);
  if (config_.norm == NormKind::kLayerNorm)
    mean_f_ = Tensor::view("final_norm_mean", {N}, DType::kF32, activations_, lay.final_norm_mean);
  layout_key_ = key;
}

Tensor DecoderModel::lora_scratch(Tensor& block, const char* name, const Shape& shape) {
  // One block sized for the widest adapted input, viewed at each projection's shape: a buffer that followed the
  // shapes would be re-allocated at every adapted projection of every layer.
  const int64_t rows = batch_.batch * batch_.seq;
  buffer(block, name, {rows * widest_adapted_input(config_, lora_.config)});
  return Tensor::view(name, shape, DType::kF32, block, 0);
}

Tensor& DecoderModel::dropout_mask(int64_t l, Proj p, int64_t n) {
  const double keep = 1.0 - lora_.config.dropout;
  Rng rng(dropout_seed_ ^ (dropout_counter_ * 0x9E3779B97F4A7C15ULL) ^ (uint64_t(l) << 32) ^ uint64_t(p));
  std::vector<float> mask(static_cast<size_t>(n));
  for (auto& m : mask) m = rng.bernoulli(keep) ? float(1.0 / keep) : 0.0f;
  g_.mask = lora_scratch(g_.mask_block, "lora_dropout_mask", {n});
  g_.mask.assign(mask);
  return g_.mask;
}

void DecoderModel::project(int64_t l, Proj p, const Tensor& x, Tensor& y, LayerActs& a) {
  const LayerWeights& lw = weights_.layers[l];
  const Tensor& w = proj_weight(lw, p);
  const int64_t n = batch_.batch * batch_.seq, in = w.dim(1);
  backend_.linear_forward(y, x, w, proj_bias(lw, p), n);
  const LoraAdapter* ad = adapter(l, p);
  if (!ad) return;
  const Tensor* x_d = &x;
  if (training_ && lora_.config.dropout > 0) {
    Tensor& xd = buffer(a.lora_x[int(p)], "lora_x", {n, in}, x.dtype());
    backend_.mul(xd, x, dropout_mask(l, ad->mask_key, n * in));
    x_d = &xd;
  }
  Tensor& h = buffer(a.lora_h[int(p)], "lora_h", {n, lora_.config.r});
  backend_.lora_forward(y, h, *x_d, ad->a, ad->b, n, lora_.config.scale());
}

void DecoderModel::project_backward(int64_t l, Proj p, const Tensor& dy, const Tensor& x, Tensor& dx, LayerActs& a) {
  const LayerWeights& lw = weights_.layers[l];
  const Tensor& w = proj_weight(lw, p);
  const int64_t n = batch_.batch * batch_.seq, in = w.dim(1);
  Tensor* dw = nullptr;
  Tensor* db = nullptr;
  if (base_trainable()) {
    LayerWeights& gw = grads_.layers[l];
    dw = &proj_weight(gw, p);
    db = proj_bias(gw, p);
  }
  backend_.linear_backward(&dx, dw, db, dy, x, w, n);
  const LoraAdapter* ad = adapter(l, p);
  if (!ad) return;
  LoraAdapter& g = lora_grads_.layers[l][int(p)];
  const double scale = lora_.config.scale();
  if (!(training_ && lora_.config.dropout > 0)) {
    backend_.lora_backward(&dx, g.a, g.b, dy, x, a.lora_h[int(p)], ad->a, ad->b, n, scale);
    return;
  }
  // Through the dropout: dx += mask * dL/dx_d.
  g_.dx_lora = lora_scratch(g_.dx_lora_block, "lora_dx", {n, in});
  Tensor& dx_d = g_.dx_lora;
  dx_d.zero();
  backend_.lora_backward(&dx_d, g.a, g.b, dy, a.lora_x[int(p)], a.lora_h[int(p)], ad->a, ad->b, n, scale);
  backend_.add_mul(dx, dx_d, dropout_mask(l, ad->mask_key, n * in));
}

void DecoderModel::build_scoring(const Batch& b) {
  pair_rows_.clear(), pair_targets_.clear(), pair_sequence_.clear();
  auto add = [&](int64_t row_pos, int32_t token, int64_t sequence) {
    pair_rows_.push_back(int32_t(row_pos));
    pair_targets_.push_back(token);
    pair_sequence_.push_back(int32_t(sequence));
  };
  num_sequences_ = b.num_sequences();
  if (!b.scored.empty()) {
    for (const auto& s : b.scored) add(s.row_pos, s.token, s.sequence);
    return;
  }
  for (int64_t s = 0; s < b.batch; ++s)
    for (int64_t t = 0; t + 1 < b.seq; ++t)
      if (b.loss_mask[s * b.seq + t + 1]) add(s * b.seq + t, b.tokens[s * b.seq + t + 1], s);
}

void DecoderModel::upload_batch(const Batch& b) {
  upload_ints(backend_, tokens_, "tokens", b.tokens);
  upload_ints(backend_, lengths_, "lengths", b.lengths);
  upload_ints(backend_, positions_, "positions", b.positions);
  upload_ints(backend_, segment_start_, "segment_start", b.segment_start);
  upload_ints(backend_, prefix_end_, "prefix_end", b.prefix_end);
  upload_ints(backend_, pair_rows_t_, "pair_rows", pair_rows_);
  upload_ints(backend_, pair_targets_t_, "pair_targets", pair_targets_);
}

AttentionMaskTensors DecoderModel::attention_mask() const {
  return {segment_start_.empty() ? nullptr : &segment_start_, prefix_end_.empty() ? nullptr : &prefix_end_};
}

AttentionShape DecoderModel::attention_shape(int64_t l) const {
  return {batch_.batch, batch_.seq, config_.num_attention_heads, config_.num_key_value_heads, config_.head_dim,
          attention_scoring(config_, l)};
}

void DecoderModel::attend(int64_t l, LayerActs& a) {
  backend_.attention_forward(a[Act::kAtt], a[Act::kLse], a[Act::kQ], a[Act::kK], a[Act::kV], lengths_,
                             attention_shape(l), attention_mask());
}

LayerPass DecoderModel::layer_pass() {
  const int64_t N = batch_.batch * batch_.seq;
  return {backend_,    config_,   weights_,  batch_.batch, batch_.seq, positions_.empty() ? nullptr : &positions_,
          rope_cos_, rope_sin_, buffer(proj_out_, "branch_out", {N, config_.hidden_size}, dtype_)};
}

void DecoderModel::layer_forward(int64_t l, const Tensor& x_in, LayerActs& a, Tensor& x_out) {
  tandem::layer_forward(layer_pass(), *this, l, x_in, a, x_out);
}

const Tensor& DecoderModel::through_output_norm(const Tensor& dout, const Tensor& norm_w, Tensor* dnorm_w, Act saved,
                                              Act saved_rstd, LayerActs& a) {
  if (norm_w.empty()) return dout;
  const int64_t N = batch_.batch * batch_.seq;
  zeros(g_.dbranch, "dbranch", {N, config_.hidden_size});
  const Tensor unused;
  norm_backward(backend_, config_, g_.dbranch, dnorm_w, nullptr, dout, a[saved], norm_w, unused, a[saved_rstd], N);
  return g_.dbranch;
}

void DecoderModel::mlp_backward(int64_t l, LayerActs& a, const Tensor& dout, Tensor& dh) {
  const auto& c = config_;
  const LayerWeights& w = weights_.layers[l];
  Tensor* dnorm = base_trainable() ? opt(grads_.layers[l].mlp_out_norm) : nullptr;
  const int64_t N = batch_.batch * batch_.seq, d = c.hidden_size, F = c.intermediate_size;
  const Tensor& ddown = through_output_norm(dout, w.mlp_out_norm, dnorm, Act::kMlpOut, Act::kRstdMlpOut, a);
  project_backward(l, Proj::kDown, ddown, a[Act::kMlpAct], zeros(g_.dact, "dact", {N, F}), a);
  zeros(g_.dup, "dup", {N, F});
  zeros(dh, "dh", {N, d});
  if (c.mlp == MlpKind::kGated) {
    zeros(g_.dgate, "dgate", {N, F});
    backend_.glu_backward(g_.dgate, g_.dup, g_.dact, a[Act::kGate], a[Act::kUp], c.activation);
    project_backward(l, Proj::kGate, g_.dgate, a[Act::kH2], dh, a);
  } else {
    backend_.activation_backward(g_.dup, g_.dact, a[Act::kUp], c.activation);
  }
  project_backward(l, Proj::kUp, g_.dup, a[Act::kH2], dh, a);
}

void DecoderModel::attention_backward(int64_t l, LayerActs& a, const Tensor& dout, Tensor& dh) {
  const auto& c = config_;
  const auto& w = weights_.layers[l];
  LayerWeights* gw = base_trainable() ? &grads_.layers[l] : nullptr;  // null: frozen base (LoRA)
  auto grad = [&](Tensor LayerWeights::*m) -> Tensor* { return gw ? opt(gw->*m) : nullptr; };
  const int64_t N = batch_.batch * batch_.seq, d = c.hidden_size, H = c.num_attention_heads;
  const int64_t G = c.num_key_value_heads, q_dim = H * c.head_dim, kv_dim = G * c.head_dim;

  const Tensor& dproj =
      through_output_norm(dout, w.attn_out_norm, grad(&LayerWeights::attn_out_norm), Act::kAttnOut,
                          Act::kRstdAttnOut, a);
  project_backward(l, Proj::kO, dproj, a[Act::kAtt], zeros(g_.datt, "datt", {N, q_dim}), a);
  zeros(g_.dq, "dq", {N, q_dim}), zeros(g_.dk, "dk", {N, kv_dim}), zeros(g_.dv, "dv", {N, kv_dim});
  backend_.attention_backward(g_.dq, g_.dk, g_.dv, g_.datt, a[Act::kAtt], a[Act::kLse], a[Act::kQ], a[Act::kK],
                              a[Act::kV], lengths_, attention_shape(l), attention_mask());
  const Tensor* pos = positions_.empty() ? nullptr : &positions_;
  backend_.rope(g_.dq, rope_cos_, rope_sin_, batch_.batch, batch_.seq, H, pos, true);
  backend_.rope(g_.dk, rope_cos_, rope_sin_, batch_.batch, batch_.seq, G, pos, true);
  Tensor* dq = &g_.dq;
  Tensor* dk = &g_.dk;
  if (c.qk_norm) {
    const Tensor unused;
    zeros(g_.dq_pre, "dq_pre", {N, q_dim}), zeros(g_.dk_pre, "dk_pre", {N, kv_dim});
    norm_backward(backend_, c, g_.dq_pre, grad(&LayerWeights::q_norm), nullptr, *dq, a[Act::kQPre], w.q_norm, unused,
                  a[Act::kRstdQ], N * H);
    norm_backward(backend_, c, g_.dk_pre, grad(&LayerWeights::k_norm), nullptr, *dk, a[Act::kKPre], w.k_norm, unused,
                  a[Act::kRstdK], N * G);
    dq = &g_.dq_pre;
    dk = &g_.dk_pre;
  }
  zeros(dh, "dh", {N, d});
  project_backward(l, Proj::kQ, *dq, a[Act::kH1], dh, a);
  project_backward(l, Proj::kK, *dk, a[Act::kH1], dh, a);
  project_backward(l, Proj::kV, g_.dv, a[Act::kH1], dh, a);
}

// dres holds dL/dx_out on entry and dL/dx_in on return. Backward ops add into their outputs, so each norm's input
// gradient is added into dres once every read of dres's entry value is done.
void DecoderModel::layer_backward(int64_t l, const Tensor& x_in, LayerActs& a, Tensor& dres) {
  const auto& c = config_;
  const auto& w = weights_.layers[l];
  LayerWeights* gw = base_trainable() ? &grads_.layers[l] : nullptr;
  auto grad = [&](Tensor LayerWeights::*m) -> Tensor* { return gw ? opt(gw->*m) : nullptr; };
  const int64_t N = batch_.batch * batch_.seq;
  if (c.residual == ResidualKind::kSequential) {
    // x_out = x_mid + mlp(norm2(x_mid)), then x_mid = x_in + attn(norm1(x_in)).
    mlp_backward(l, a, dres, g_.dh);
    norm_backward(backend_, c, dres, grad(&LayerWeights::mlp_norm), grad(&LayerWeights::mlp_norm_bias), g_.dh,
                  a[Act::kXMid], w.mlp_norm, a[Act::kMean2], a[Act::kRstd2], N);
    attention_backward(l, a, dres, g_.dh);
  } else {
    // x_out = x_in + attn(norm1(x_in)) + mlp(norm2(x_in)): both branches read dL/dx_out before dres changes.
    mlp_backward(l, a, dres, g_.dh2);
    attention_backward(l, a, dres, g_.dh);
    norm_backward(backend_, c, dres, grad(&LayerWeights::mlp_norm), grad(&LayerWeights::mlp_norm_bias), g_.dh2,
                  x_in, w.mlp_norm, a[Act::kMean2], a[Act::kRstd2], N);
  }
  norm_backward(backend_, c, dres, grad(&LayerWeights::attn_norm), grad(&LayerWeights::attn_norm_bias), g_.dh, x_in,
                w.attn_norm, a[Act::kMean1], a[Act::kRstd1], N);
}

void DecoderModel::run_layers(const Batch& batch) {
  batch.validate(config_.vocab_size);
  // A window counts rows back; with a shared prompt prefix the rows of the second response are not its positions.
  TANDEM_CHECK(config_.sliding_window <= 0 || batch.seq <= config_.sliding_window || batch.prefix_end.empty(),
               "batch: sequence length ", batch.seq, " exceeds the model's sliding_window ", config_.sliding_window,
               " with DPO prefix sharing, which sliding-window attention does not support (set prefix_sharing = "
               "false)");
  batch_ = batch;
  build_scoring(batch);
  upload_batch(batch);
  if (training_) ++dropout_counter_;  // a fresh dropout mask per training forward, the same one on recompute
  if (rope_cos_.empty() || rope_cos_.dim(0) < batch.seq) {
    const RopeTable table = rope_table(batch.seq, config_.rotary_dims(), config_.rope_theta, config_.rope_scaling);
    buffer(rope_cos_, "rope_cos", {table.positions, table.half}).assign(table.cos);
    buffer(rope_sin_, "rope_sin", {table.positions, table.half}).assign(table.sin);
  }

  const int64_t N = batch.batch * batch.seq, L = config_.num_hidden_layers;
  layout_activations();
  backend_.embedding_forward(residual_[0], tokens_, weights_.embed);
  if (config_.scale_embeddings) backend_.scale(residual_[0], std::sqrt(double(config_.hidden_size)));
  for (int64_t l = 0; l < L; ++l) layer_forward(l, residual_[l], acts_[recompute_ ? 0 : l], residual_[l + 1]);
  norm_forward(backend_, config_, xf_, mean_f_, rstd_f_, residual_[L], weights_.final_norm, weights_.final_norm_bias,
               N);
}

SequenceLogprobs DecoderModel::collect(const std::vector<float>& pair_logp) const {
  SequenceLogprobs out;
  out.logp.assign(num_sequences_, 0.0);
  out.tokens.assign(num_sequences_, 0);
  for (size_t k = 0; k < pair_rows_.size(); ++k) {
    out.logp[pair_sequence_[k]] += pair_logp[k];
    out.tokens[pair_sequence_[k]] += 1;
  }
  if (!batch_.scored.empty()) {
    out.token_logp = pair_logp;
  } else {
    out.token_logp.assign(batch_.batch * batch_.seq, 0.0f);
    for (size_t k = 0; k < pair_rows_.size(); ++k) out.token_logp[pair_rows_[k]] = pair_logp[k];
  }
  return out;
}

// Log-probs of the scored pairs; with dlogp also their gradient into the final norm's output (g_.dxf) and the
// head's weight. The per-pair gradient is the per-sequence one, gathered on the host (pairs are few).
std::vector<float> DecoderModel::lm_head(const std::vector<float>* dlogp) {
  const int64_t pairs = int64_t(pair_rows_.size());
  Tensor logp("token_logp", {pairs}, DType::kF32, &backend_);
  if (!dlogp) {
    backend_.token_logprobs(&logp, nullptr, nullptr, nullptr, xf_, weights_.output_matrix(), pair_rows_t_,
                            pair_targets_t_, logits_chunk_rows_, config_.final_logit_softcap);
    return logp.to_floats();
  }
  TANDEM_CHECK(int64_t(dlogp->size()) == num_sequences_, "backward: dlogp has ", dlogp->size(),
               " entries, expected one per sequence (", num_sequences_, ")");
  std::vector<float> per_pair(pair_rows_.size());
  for (size_t k = 0; k < per_pair.size(); ++k) per_pair[k] = (*dlogp)[pair_sequence_[k]];
  Tensor grad("dlogp", {pairs}, DType::kF32, &backend_);
  grad.assign(per_pair);
  zeros(g_.dxf, "dxf", xf_.shape);
  Tensor* dw = base_trainable() ? &grads().output_matrix() : nullptr;
  backend_.token_logprobs(&logp, &g_.dxf, dw, &grad, xf_, weights_.output_matrix(), pair_rows_t_, pair_targets_t_,
                          logits_chunk_rows_, config_.final_logit_softcap);
  return logp.to_floats();
}

void DecoderModel::backward_layers() {
  const int64_t N = batch_.batch * batch_.seq, d = config_.hidden_size, L = config_.num_hidden_layers;
  auto done = [this](int64_t what) {
    if (on_backward_progress_) on_backward_progress_(what);
  };
  done(kHeadDone);  // lm_head(&dlogp) ran just before
  Tensor& dres = zeros(g_.dres, "dres", {N, d});  // dL/d(residual stream), walked from the top layer down
  norm_backward(backend_, config_, dres, base_trainable() ? &grads_.final_norm : nullptr,
                base_trainable() ? opt(grads_.final_norm_bias) : nullptr, g_.dxf, residual_[L], weights_.final_norm,
                mean_f_, rstd_f_, N);
  for (int64_t l = L - 1; l >= 0; --l) {
    LayerActs& a = acts_[recompute_ ? 0 : l];
    if (recompute_ && l != L - 1)  // the shared scratch still holds the top layer from forward
      layer_forward(l, residual_[l], a, buffer(scratch_out_, "recompute_out", {N, d}));
    layer_backward(l, residual_[l], a, dres);
    done(l);
  }
  if (base_trainable()) {
    if (config_.scale_embeddings) backend_.scale(dres, std::sqrt(double(config_.hidden_size)));
    backend_.embedding_backward(grads_.embed, tokens_, dres);
  }
  done(kBackwardDone);
}

SequenceLogprobs DecoderModel::forward(const Batch& batch) {
  run_layers(batch);
  return collect(lm_head(nullptr));
}

void DecoderModel::backward(const std::vector<float>& dlogp) {
  TANDEM_CHECK(!residual_.empty() && !xf_.empty(), "backward() called before forward()");
  lm_head(&dlogp);  // recomputes the logits chunk by chunk
  backward_layers();
}

SequenceLogprobs DecoderModel::forward_backward(const Batch& batch, const std::vector<float>& dlogp) {
  run_layers(batch);
  const std::vector<float> token_logp = lm_head(&dlogp);
  backward_layers();
  return collect(token_logp);
}

std::vector<float> DecoderModel::logits(const Batch& batch) {
  run_layers(batch);
  const int64_t N = batch.batch * batch.seq;
  Tensor out("logits", {N, config_.vocab_size}, DType::kF32, &backend_);
  backend_.linear_forward(out, xf_, weights_.output_matrix(), nullptr, N);
  if (config_.final_logit_softcap > 0) backend_.tanh_softcap(out, config_.final_logit_softcap);
  return out.to_floats();
}

}  // namespace tandem
