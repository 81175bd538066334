#include "model/llama.h"

#include <algorithm>

#include "core/check.h"
#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/logprobs.h"
#include "kernels/rmsnorm.h"
#include "kernels/swiglu.h"

namespace tandem {

namespace {
// Resizes to n and zeroes: backward kernels add into their outputs.
void zeros(std::vector<float>& v, int64_t n) { v.assign(static_cast<size_t>(n), 0.0f); }
void sized(std::vector<float>& v, int64_t n) { v.resize(static_cast<size_t>(n)); }
const float* opt(const Tensor& t) { return t.empty() ? nullptr : t.ptr(); }
float* opt(Tensor& t) { return t.empty() ? nullptr : t.ptr(); }
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
  for_each_tensor(grads(), [](Tensor& t) { t.zero(); });
}

std::vector<int32_t> LlamaModel::targets_of(const Batch& b) const {
  std::vector<int32_t> targets(b.batch * b.seq, -1);
  for (int64_t s = 0; s < b.batch; ++s)
    for (int64_t t = 0; t + 1 < b.seq; ++t)
      if (b.loss_mask[s * b.seq + t + 1]) targets[s * b.seq + t] = b.tokens[s * b.seq + t + 1];
  return targets;
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
    linear_forward(a.q_pre.data(), a.h1.data(), w.wq.ptr(), opt(w.bq), N, d, q_dim);
    linear_forward(a.k_pre.data(), a.h1.data(), w.wk.ptr(), opt(w.bk), N, d, kv_dim);
    rmsnorm_forward(a.q.data(), a.rstd_q.data(), a.q_pre.data(), w.q_norm.ptr(), N * H, D, c.rms_norm_eps);
    rmsnorm_forward(a.k.data(), a.rstd_k.data(), a.k_pre.data(), w.k_norm.ptr(), N * G, D, c.rms_norm_eps);
  } else {
    linear_forward(a.q.data(), a.h1.data(), w.wq.ptr(), opt(w.bq), N, d, q_dim);
    linear_forward(a.k.data(), a.h1.data(), w.wk.ptr(), opt(w.bk), N, d, kv_dim);
  }
  linear_forward(a.v.data(), a.h1.data(), w.wv.ptr(), opt(w.bv), N, d, kv_dim);
  rope_forward(a.q.data(), rope_, batch_.batch, batch_.seq, H, D);
  rope_forward(a.k.data(), rope_, batch_.batch, batch_.seq, G, D);

  sized(a.att, N * q_dim), sized(a.lse, batch_.batch * H * batch_.seq);
  const AttentionShape shape{batch_.batch, batch_.seq, H, G, D};
  attention_forward(a.att.data(), a.lse.data(), a.q.data(), a.k.data(), a.v.data(), batch_.lengths.data(), shape);

  sized(a.x_mid, N * d);
  linear_forward(a.x_mid.data(), a.att.data(), w.wo.ptr(), opt(w.bo), N, q_dim, d);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < N * d; ++i) a.x_mid[i] += x_in[i];

  sized(a.h2, N * d), sized(a.rstd2, N);
  rmsnorm_forward(a.h2.data(), a.rstd2.data(), a.x_mid.data(), w.post_norm.ptr(), N, d, c.rms_norm_eps);
  sized(a.gate, N * F), sized(a.up, N * F), sized(a.act, N * F);
  linear_forward(a.gate.data(), a.h2.data(), w.w_gate.ptr(), nullptr, N, d, F);
  linear_forward(a.up.data(), a.h2.data(), w.w_up.ptr(), nullptr, N, d, F);
  swiglu_forward(a.act.data(), a.gate.data(), a.up.data(), N * F);
  linear_forward(x_out, a.act.data(), w.w_down.ptr(), nullptr, N, F, d);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < N * d; ++i) x_out[i] += a.x_mid[i];
}

void LlamaModel::layer_backward(int64_t l, const float* x_in, LayerActs& a, float* dres) {
  const auto& c = config_;
  const auto& w = weights_.layers[l];
  auto& gw = grads_.layers[l];
  const int64_t N = batch_.batch * batch_.seq, d = c.hidden_size, D = c.head_dim;
  const int64_t H = c.num_attention_heads, G = c.num_key_value_heads, q_dim = H * D, kv_dim = G * D;
  const int64_t F = c.intermediate_size;

  // MLP: x_out = x_mid + down(silu(gate(h2)) * up(h2)), h2 = norm(x_mid). dres holds dL/dx_out.
  zeros(g_.dact, N * F);
  linear_backward(g_.dact.data(), gw.w_down.ptr(), nullptr, dres, a.act.data(), w.w_down.ptr(), N, F, d);
  zeros(g_.dgate, N * F), zeros(g_.dup, N * F);
  swiglu_backward(g_.dgate.data(), g_.dup.data(), g_.dact.data(), a.gate.data(), a.up.data(), N * F);
  zeros(g_.dh, N * d);
  linear_backward(g_.dh.data(), gw.w_gate.ptr(), nullptr, g_.dgate.data(), a.h2.data(), w.w_gate.ptr(), N, d, F);
  linear_backward(g_.dh.data(), gw.w_up.ptr(), nullptr, g_.dup.data(), a.h2.data(), w.w_up.ptr(), N, d, F);
  rmsnorm_backward(dres, gw.post_norm.ptr(), g_.dh.data(), a.x_mid.data(), w.post_norm.ptr(), a.rstd2.data(), N, d);

  // Attention: x_mid = x_in + o(attn(rope(q), rope(k), v)). dres now holds dL/dx_mid.
  zeros(g_.datt, N * q_dim);
  linear_backward(g_.datt.data(), gw.wo.ptr(), opt(gw.bo), dres, a.att.data(), w.wo.ptr(), N, q_dim, d);
  zeros(g_.dq, N * q_dim), zeros(g_.dk, N * kv_dim), zeros(g_.dv, N * kv_dim);
  const AttentionShape shape{batch_.batch, batch_.seq, H, G, D};
  attention_backward(g_.dq.data(), g_.dk.data(), g_.dv.data(), g_.datt.data(), a.att.data(), a.lse.data(),
                     a.q.data(), a.k.data(), a.v.data(), batch_.lengths.data(), shape);
  rope_backward(g_.dq.data(), rope_, batch_.batch, batch_.seq, H, D);
  rope_backward(g_.dk.data(), rope_, batch_.batch, batch_.seq, G, D);
  float* dq = g_.dq.data();
  float* dk = g_.dk.data();
  if (c.qk_norm) {
    zeros(g_.dq_pre, N * q_dim), zeros(g_.dk_pre, N * kv_dim);
    rmsnorm_backward(g_.dq_pre.data(), gw.q_norm.ptr(), dq, a.q_pre.data(), w.q_norm.ptr(), a.rstd_q.data(), N * H, D);
    rmsnorm_backward(g_.dk_pre.data(), gw.k_norm.ptr(), dk, a.k_pre.data(), w.k_norm.ptr(), a.rstd_k.data(), N * G, D);
    dq = g_.dq_pre.data();
    dk = g_.dk_pre.data();
  }
  zeros(g_.dh, N * d);
  linear_backward(g_.dh.data(), gw.wq.ptr(), opt(gw.bq), dq, a.h1.data(), w.wq.ptr(), N, d, q_dim);
  linear_backward(g_.dh.data(), gw.wk.ptr(), opt(gw.bk), dk, a.h1.data(), w.wk.ptr(), N, d, kv_dim);
  linear_backward(g_.dh.data(), gw.wv.ptr(), opt(gw.bv), g_.dv.data(), a.h1.data(), w.wv.ptr(), N, d, kv_dim);
  rmsnorm_backward(dres, gw.input_norm.ptr(), g_.dh.data(), x_in, w.input_norm.ptr(), a.rstd1.data(), N, d);
}

void LlamaModel::run_layers(const Batch& batch) {
  batch.validate(config_.vocab_size);
  TANDEM_CHECK(config_.sliding_window <= 0 || batch.seq <= config_.sliding_window, "batch: sequence length ",
               batch.seq, " exceeds the model's sliding_window ", config_.sliding_window,
               " (sliding-window attention is not implemented)");
  batch_ = batch;
  targets_ = targets_of(batch);
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
  TANDEM_CHECK(int64_t(dlogp.size()) == batch_.batch, "backward: dlogp has ", dlogp.size(),
               " entries, expected one per sequence (", batch_.batch, ")");
  std::vector<float> g(targets_.size(), 0.0f);
  for (size_t r = 0; r < g.size(); ++r)
    if (targets_[r] >= 0) g[r] = dlogp[r / batch_.seq];
  return g;
}

SequenceLogprobs LlamaModel::collect(const std::vector<float>& token_logp) const {
  SequenceLogprobs out;
  out.logp.assign(batch_.batch, 0.0);
  out.tokens.assign(batch_.batch, 0);
  for (int64_t r = 0; r < int64_t(targets_.size()); ++r)
    if (targets_[r] >= 0) {
      out.logp[r / batch_.seq] += token_logp[r];
      out.tokens[r / batch_.seq] += 1;
    }
  out.token_logp = token_logp;
  return out;
}

void LlamaModel::lm_head(const std::vector<float>* dlogp, std::vector<float>& token_logp) {
  const LogprobShape shape{batch_.batch * batch_.seq, config_.hidden_size, config_.vocab_size, logits_chunk_rows_};
  token_logp.assign(targets_.size(), 0.0f);
  if (!dlogp) {
    token_logprobs_forward(token_logp.data(), xf_.data(), weights_.output_matrix().ptr(), targets_.data(), shape,
                           &lm_ws_);
    return;
  }
  const std::vector<float> g = row_grads(*dlogp);
  zeros(g_.dxf, shape.rows * shape.dim);
  token_logprobs_backward(g_.dxf.data(), grads().output_matrix().ptr(), g.data(), xf_.data(),
                          weights_.output_matrix().ptr(), targets_.data(), shape, token_logp.data(), &lm_ws_);
}

void LlamaModel::backward_layers() {
  const int64_t N = batch_.batch * batch_.seq, d = config_.hidden_size, L = config_.num_hidden_layers;
  zeros(g_.dres, N * d);  // dL/d(residual stream), walked from the top layer down
  float* dres = g_.dres.data();
  rmsnorm_backward(dres, grads_.final_norm.ptr(), g_.dxf.data(), residual_[L].data(), weights_.final_norm.ptr(),
                   rstd_f_.data(), N, d);
  std::vector<float> scratch_out;
  for (int64_t l = L - 1; l >= 0; --l) {
    LayerActs& a = acts_[recompute_ ? 0 : l];
    if (recompute_ && l != L - 1) {  // the shared scratch still holds the top layer from forward
      sized(scratch_out, N * d);
      layer_forward(l, residual_[l].data(), a, scratch_out.data());
    }
    layer_backward(l, residual_[l].data(), a, dres);
  }
  embedding_backward(grads_.embed.ptr(), batch_.tokens.data(), dres, N, d);
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
