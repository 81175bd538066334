#include "model/llama.h"

#include <algorithm>

#include "core/check.h"
#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/logprobs.h"
#include "kernels/lora.h"
#include "kernels/rmsnorm.h"
#include "kernels/swiglu.h"
#include "optim/adamw.h"

namespace tandem {

namespace {
// Resizes to n and zeroes: backward kernels add into their outputs.
void zeros(std::vector<float>& v, int64_t n) { v.assign(static_cast<size_t>(n), 0.0f); }
void sized(std::vector<float>& v, int64_t n) { v.resize(static_cast<size_t>(n)); }
const float* opt(const Tensor& t) { return t.empty() ? nullptr : t.ptr(); }
float* opt(Tensor& t) { return t.empty() ? nullptr : t.ptr(); }
const float* opt(const Tensor* t) { return t ? opt(*t) : nullptr; }
float* opt(Tensor* t) { return t ? opt(*t) : nullptr; }
}  // namespace

LlamaModel::LlamaModel(const ModelConfig& config) : config_(config), weights_(allocate_weights(config)) {
  config_.validate();
}

ModelWeights& LlamaModel::grads() {
  if (!grads_ready_) {
    grads_ = allocate_weights(config_);
    grads_ready_ = true;
  }
  return grads_;
}

void LlamaModel::zero_grads() {
  if (has_lora()) {
    for_each_tensor(lora_grads_, [](Tensor& t) { t.zero(); });
    return;
  }
  for_each_tensor(grads(), [](Tensor& t) { t.zero(); });
}

std::vector<ParamRef> LlamaModel::trainable_params() {
  if (!has_lora()) return model_params(weights_, grads());
  std::vector<Tensor*> values, gradients;
  for_each_tensor(lora_, [&](Tensor& t) { values.push_back(&t); });
  for_each_tensor(lora_grads_, [&](Tensor& t) { gradients.push_back(&t); });
  std::vector<ParamRef> out;
  for (size_t i = 0; i < values.size(); ++i) out.push_back({values[i], gradients[i], true});
  return out;
}

void LlamaModel::enable_lora(const LoraConfig& config, Rng& rng) {
  LoraWeights w = allocate_lora(config_, config);
  init_lora(w, rng);
  set_lora(std::move(w));
}

void LlamaModel::set_lora(LoraWeights lora) {
  TANDEM_CHECK(int64_t(lora.layers.size()) == config_.num_hidden_layers, "LoRA adapter has ", lora.layers.size(),
               " layers, the model ", config_.num_hidden_layers);
  lora_ = std::move(lora);
  lora_grads_ = allocate_lora(config_, lora_.config);
  grads_ = ModelWeights{};  // the base is frozen: its gradients are never needed
  grads_ready_ = false;
}

const LoraAdapter* LlamaModel::adapter(int64_t l, Proj p) const {
  if (!has_lora() || !adapters_on_) return nullptr;
  const LoraAdapter& ad = lora_.layers[l][int(p)];
  return ad.active() ? &ad : nullptr;
}

std::vector<float> LlamaModel::dropout_mask(int64_t l, Proj p, int64_t n) const {
  const double keep = 1.0 - lora_.config.dropout;
  Rng rng(dropout_seed_ ^ (dropout_counter_ * 0x9E3779B97F4A7C15ULL) ^ (uint64_t(l) << 32) ^ uint64_t(p));
  std::vector<float> mask(static_cast<size_t>(n));
  for (auto& m : mask) m = rng.bernoulli(keep) ? float(1.0 / keep) : 0.0f;
  return mask;
}

void LlamaModel::project(int64_t l, Proj p, const float* x, float* y, LayerActs& a) {
  const LayerWeights& lw = weights_.layers[l];
  const Tensor& w = proj_weight(lw, p);
  const float* bias = opt(proj_bias(lw, p));
  const int64_t n = batch_.batch * batch_.seq, out = w.dim(0), in = w.dim(1);
  linear_forward(y, x, w.ptr(), bias, n, in, out);
  const LoraAdapter* ad = adapter(l, p);
  if (!ad) return;
  const float* x_d = x;
  if (training_ && lora_.config.dropout > 0) {
    const std::vector<float> mask = dropout_mask(l, p, n * in);
    auto& xd = a.lora_x[int(p)];
    sized(xd, n * in);
    for (int64_t i = 0; i < n * in; ++i) xd[i] = x[i] * mask[i];
    x_d = xd.data();
  }
  const int64_t r = lora_.config.r;
  sized(a.lora_h[int(p)], n * r);
  lora_forward(y, a.lora_h[int(p)].data(), x_d, ad->a.ptr(), ad->b.ptr(), LoraShape{n, in, out, r, lora_.config.scale()});
}

void LlamaModel::project_backward(int64_t l, Proj p, const float* dy, const float* x, float* dx, LayerActs& a) {
  const LayerWeights& lw = weights_.layers[l];
  const Tensor& w = proj_weight(lw, p);
  const int64_t n = batch_.batch * batch_.seq, out = w.dim(0), in = w.dim(1);
  float* dw = nullptr;
  float* db = nullptr;
  if (base_trainable()) {
    LayerWeights& gw = grads_.layers[l];
    dw = proj_weight(gw, p).ptr();
    db = opt(proj_bias(gw, p));
  }
  linear_backward(dx, dw, db, dy, x, w.ptr(), n, in, out);
  const LoraAdapter* ad = adapter(l, p);
  if (!ad) return;
  LoraAdapter& g = lora_grads_.layers[l][int(p)];
  const LoraShape shape{n, in, out, lora_.config.r, lora_.config.scale()};
  const bool dropout = training_ && lora_.config.dropout > 0;
  if (!dropout) {
    lora_backward(dx, g.a.ptr(), g.b.ptr(), dy, x, a.lora_h[int(p)].data(), ad->a.ptr(), ad->b.ptr(), shape);
    return;
  }
  // Through the dropout: dx += mask * dL/dx_d.
  std::vector<float> dx_d(size_t(n * in), 0.0f);
  lora_backward(dx_d.data(), g.a.ptr(), g.b.ptr(), dy, a.lora_x[int(p)].data(), a.lora_h[int(p)].data(), ad->a.ptr(),
                ad->b.ptr(), shape);
  const std::vector<float> mask = dropout_mask(l, p, n * in);
  for (int64_t i = 0; i < n * in; ++i) dx[i] += dx_d[i] * mask[i];
}

void LlamaModel::build_scoring(const Batch& b) {
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

void LlamaModel::layer_forward(int64_t l, const float* x_in, LayerActs& a, float* x_out) {
  const auto& c = config_;
  const auto& w = weights_.layers[l];
  const int64_t N = batch_.batch * batch_.seq, d = c.hidden_size, D = c.head_dim;
  const int64_t H = c.num_attention_heads, G = c.num_key_value_heads, q_dim = H * D, kv_dim = G * D;
  const int64_t F = c.intermediate_size;

  sized(a.h1, N * d), sized(a.rstd1, N);
  rmsnorm_forward(a.h1.data(), a.rstd1.data(), x_in, w.input_norm.ptr(), N, d, c.rms_norm_eps);

  sized(a.q, N * q_dim), sized(a.k, N * kv_dim), sized(a.v, N * kv_dim);
  if (c.qk_norm) {  // Qwen3 normalises each head of q and k before RoPE
    sized(a.q_pre, N * q_dim), sized(a.k_pre, N * kv_dim), sized(a.rstd_q, N * H), sized(a.rstd_k, N * G);
    project(l, Proj::kQ, a.h1.data(), a.q_pre.data(), a);
    project(l, Proj::kK, a.h1.data(), a.k_pre.data(), a);
    rmsnorm_forward(a.q.data(), a.rstd_q.data(), a.q_pre.data(), w.q_norm.ptr(), N * H, D, c.rms_norm_eps);
    rmsnorm_forward(a.k.data(), a.rstd_k.data(), a.k_pre.data(), w.k_norm.ptr(), N * G, D, c.rms_norm_eps);
  } else {
    project(l, Proj::kQ, a.h1.data(), a.q.data(), a);
    project(l, Proj::kK, a.h1.data(), a.k.data(), a);
  }
  project(l, Proj::kV, a.h1.data(), a.v.data(), a);
  const int32_t* pos = batch_.positions.empty() ? nullptr : batch_.positions.data();
  rope_forward(a.q.data(), rope_, batch_.batch, batch_.seq, H, D, pos);
  rope_forward(a.k.data(), rope_, batch_.batch, batch_.seq, G, D, pos);

  sized(a.att, N * q_dim), sized(a.lse, batch_.batch * H * batch_.seq);
  const AttentionShape shape{batch_.batch, batch_.seq, H, G, D};
  attention_forward(a.att.data(), a.lse.data(), a.q.data(), a.k.data(), a.v.data(), batch_.lengths.data(), shape,
                    attention_mask());

  sized(a.x_mid, N * d);
  project(l, Proj::kO, a.att.data(), a.x_mid.data(), a);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < N * d; ++i) a.x_mid[i] += x_in[i];

  sized(a.h2, N * d), sized(a.rstd2, N);
  rmsnorm_forward(a.h2.data(), a.rstd2.data(), a.x_mid.data(), w.post_norm.ptr(), N, d, c.rms_norm_eps);
  sized(a.gate, N * F), sized(a.up, N * F), sized(a.act, N * F);
  project(l, Proj::kGate, a.h2.data(), a.gate.data(), a);
  project(l, Proj::kUp, a.h2.data(), a.up.data(), a);
  swiglu_forward(a.act.data(), a.gate.data(), a.up.data(), N * F);
  project(l, Proj::kDown, a.act.data(), x_out, a);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < N * d; ++i) x_out[i] += a.x_mid[i];
}

void LlamaModel::layer_backward(int64_t l, const float* x_in, LayerActs& a, float* dres) {
  const auto& c = config_;
  const auto& w = weights_.layers[l];
  LayerWeights* gw = base_trainable() ? &grads_.layers[l] : nullptr;  // null: frozen base (LoRA)
  auto grad = [&](Tensor LayerWeights::*m) -> float* { return gw ? opt(gw->*m) : nullptr; };
  const int64_t N = batch_.batch * batch_.seq, d = c.hidden_size, D = c.head_dim;
  const int64_t H = c.num_attention_heads, G = c.num_key_value_heads, q_dim = H * D, kv_dim = G * D;
  const int64_t F = c.intermediate_size;

  // MLP: x_out = x_mid + down(silu(gate(h2)) * up(h2)), h2 = norm(x_mid). dres holds dL/dx_out.
  zeros(g_.dact, N * F);
  project_backward(l, Proj::kDown, dres, a.act.data(), g_.dact.data(), a);
  zeros(g_.dgate, N * F), zeros(g_.dup, N * F);
  swiglu_backward(g_.dgate.data(), g_.dup.data(), g_.dact.data(), a.gate.data(), a.up.data(), N * F);
  zeros(g_.dh, N * d);
  project_backward(l, Proj::kGate, g_.dgate.data(), a.h2.data(), g_.dh.data(), a);
  project_backward(l, Proj::kUp, g_.dup.data(), a.h2.data(), g_.dh.data(), a);
  rmsnorm_backward(dres, grad(&LayerWeights::post_norm), g_.dh.data(), a.x_mid.data(), w.post_norm.ptr(),
                   a.rstd2.data(), N, d);

  // Attention: x_mid = x_in + o(attn(rope(q), rope(k), v)). dres now holds dL/dx_mid.
  zeros(g_.datt, N * q_dim);
  project_backward(l, Proj::kO, dres, a.att.data(), g_.datt.data(), a);
  zeros(g_.dq, N * q_dim), zeros(g_.dk, N * kv_dim), zeros(g_.dv, N * kv_dim);
  const AttentionShape shape{batch_.batch, batch_.seq, H, G, D};
  attention_backward(g_.dq.data(), g_.dk.data(), g_.dv.data(), g_.datt.data(), a.att.data(), a.lse.data(),
                     a.q.data(), a.k.data(), a.v.data(), batch_.lengths.data(), shape, attention_mask());
  const int32_t* pos = batch_.positions.empty() ? nullptr : batch_.positions.data();
  rope_backward(g_.dq.data(), rope_, batch_.batch, batch_.seq, H, D, pos);
  rope_backward(g_.dk.data(), rope_, batch_.batch, batch_.seq, G, D, pos);
  float* dq = g_.dq.data();
  float* dk = g_.dk.data();
  if (c.qk_norm) {
    zeros(g_.dq_pre, N * q_dim), zeros(g_.dk_pre, N * kv_dim);
    rmsnorm_backward(g_.dq_pre.data(), grad(&LayerWeights::q_norm), dq, a.q_pre.data(), w.q_norm.ptr(),
                     a.rstd_q.data(), N * H, D);
    rmsnorm_backward(g_.dk_pre.data(), grad(&LayerWeights::k_norm), dk, a.k_pre.data(), w.k_norm.ptr(),
                     a.rstd_k.data(), N * G, D);
    dq = g_.dq_pre.data();
    dk = g_.dk_pre.data();
  }
  zeros(g_.dh, N * d);
  project_backward(l, Proj::kQ, dq, a.h1.data(), g_.dh.data(), a);
  project_backward(l, Proj::kK, dk, a.h1.data(), g_.dh.data(), a);
  project_backward(l, Proj::kV, g_.dv.data(), a.h1.data(), g_.dh.data(), a);
  rmsnorm_backward(dres, grad(&LayerWeights::input_norm), g_.dh.data(), x_in, w.input_norm.ptr(), a.rstd1.data(), N,
                   d);
}

void LlamaModel::run_layers(const Batch& batch) {
  batch.validate(config_.vocab_size);
  TANDEM_CHECK(config_.sliding_window <= 0 || batch.seq <= config_.sliding_window, "batch: sequence length ",
               batch.seq, " exceeds the model's sliding_window ", config_.sliding_window,
               " (sliding-window attention is not implemented)");
  batch_ = batch;
  build_scoring(batch);
  if (training_) ++dropout_counter_;  // a fresh dropout mask per training forward, the same one on recompute
  if (rope_.positions < batch.seq)
    rope_ = rope_table(batch.seq, config_.head_dim, config_.rope_theta, config_.rope_scaling);

  const int64_t N = batch.batch * batch.seq, d = config_.hidden_size, L = config_.num_hidden_layers;
  residual_.resize(L + 1);
  for (auto& r : residual_) sized(r, N * d);
  acts_.resize(recompute_ ? 1 : L);
  if (recompute_)  // only the shared scratch is kept; free what an earlier non-recompute pass held
    for (int64_t i = 1; i < int64_t(acts_.size()); ++i) acts_[i] = LayerActs{};
  embedding_forward(residual_[0].data(), batch.tokens.data(), weights_.embed.ptr(), N, d);
  for (int64_t l = 0; l < L; ++l)
    layer_forward(l, residual_[l].data(), acts_[recompute_ ? 0 : l], residual_[l + 1].data());
  sized(xf_, N * d), sized(rstd_f_, N);
  rmsnorm_forward(xf_.data(), rstd_f_.data(), residual_[L].data(), weights_.final_norm.ptr(), N, d,
                  config_.rms_norm_eps);
}

std::vector<float> LlamaModel::row_grads(const std::vector<float>& dlogp) const {
  TANDEM_CHECK(int64_t(dlogp.size()) == num_sequences_, "backward: dlogp has ", dlogp.size(),
               " entries, expected one per sequence (", num_sequences_, ")");
  std::vector<float> g(pair_rows_.size());
  for (size_t k = 0; k < g.size(); ++k) g[k] = dlogp[pair_sequence_[k]];
  return g;
}

SequenceLogprobs LlamaModel::collect(const std::vector<float>& pair_logp) const {
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

AttentionMask LlamaModel::attention_mask() const {
  return {batch_.segment_start.empty() ? nullptr : batch_.segment_start.data(),
          batch_.prefix_end.empty() ? nullptr : batch_.prefix_end.data()};
}

void LlamaModel::lm_head(const std::vector<float>* dlogp, std::vector<float>& token_logp) {
  const LogprobShape shape{batch_.batch * batch_.seq, config_.hidden_size, config_.vocab_size, logits_chunk_rows_};
  const ScoredPairs pairs{pair_rows_.data(), pair_targets_.data(), int64_t(pair_rows_.size())};
  token_logp.assign(pair_rows_.size(), 0.0f);
  if (!dlogp) {
    token_logprobs_forward(token_logp.data(), xf_.data(), weights_.output_matrix().ptr(), pairs, shape, &lm_ws_);
    return;
  }
  const std::vector<float> g = row_grads(*dlogp);
  zeros(g_.dxf, shape.rows * shape.dim);
  float* dw = base_trainable() ? grads().output_matrix().ptr() : nullptr;
  token_logprobs_backward(g_.dxf.data(), dw, g.data(), xf_.data(),
                          weights_.output_matrix().ptr(), pairs, shape, token_logp.data(), &lm_ws_);
}

void LlamaModel::backward_layers() {
  const int64_t N = batch_.batch * batch_.seq, d = config_.hidden_size, L = config_.num_hidden_layers;
  zeros(g_.dres, N * d);  // dL/d(residual stream), walked from the top layer down
  float* dres = g_.dres.data();
  rmsnorm_backward(dres, base_trainable() ? grads_.final_norm.ptr() : nullptr, g_.dxf.data(), residual_[L].data(),
                   weights_.final_norm.ptr(), rstd_f_.data(), N, d);
  std::vector<float> scratch_out;
  for (int64_t l = L - 1; l >= 0; --l) {
    LayerActs& a = acts_[recompute_ ? 0 : l];
    if (recompute_ && l != L - 1) {  // the shared scratch still holds the top layer from forward
      sized(scratch_out, N * d);
      layer_forward(l, residual_[l].data(), a, scratch_out.data());
    }
    layer_backward(l, residual_[l].data(), a, dres);
  }
  if (base_trainable()) embedding_backward(grads_.embed.ptr(), batch_.tokens.data(), dres, N, d);
}

SequenceLogprobs LlamaModel::forward(const Batch& batch) {
  run_layers(batch);
  std::vector<float> token_logp;
  lm_head(nullptr, token_logp);
  return collect(token_logp);
}

void LlamaModel::backward(const std::vector<float>& dlogp) {
  TANDEM_CHECK(!residual_.empty() && !xf_.empty(), "backward() called before forward()");
  std::vector<float> token_logp;
  lm_head(&dlogp, token_logp);  // recomputes the logits chunk by chunk
  backward_layers();
}

SequenceLogprobs LlamaModel::forward_backward(const Batch& batch, const std::vector<float>& dlogp) {
  run_layers(batch);
  std::vector<float> token_logp;
  lm_head(&dlogp, token_logp);
  backward_layers();
  return collect(token_logp);
}

std::vector<float> LlamaModel::logits(const Batch& batch) {
  run_layers(batch);
  const int64_t N = batch.batch * batch.seq;
  std::vector<float> out(N * config_.vocab_size);
  linear_forward(out.data(), xf_.data(), weights_.output_matrix().ptr(), nullptr, N, config_.hidden_size,
                 config_.vocab_size);
  return out;
}

int64_t LlamaModel::activation_bytes() const {
  int64_t floats = int64_t(xf_.size() + rstd_f_.size());
  for (const auto& r : residual_) floats += int64_t(r.size());
  for (const auto& a : acts_)
    for (const auto* v : {&a.h1, &a.rstd1, &a.q_pre, &a.k_pre, &a.rstd_q, &a.rstd_k, &a.q, &a.k, &a.v, &a.att,
                          &a.lse, &a.x_mid, &a.h2, &a.rstd2, &a.gate, &a.up, &a.act})
      floats += int64_t(v->size());
  return floats * int64_t(sizeof(float));
}

}  // namespace tandem
