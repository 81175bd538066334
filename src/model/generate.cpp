#include "model/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"
#include "model/rope_table.h"

namespace tandem {

KvDecoder::KvDecoder(const LlamaModel& model, int64_t max_positions)
    : model_(model), backend_(model.backend()), max_positions_(max_positions) {
  const ModelConfig& c = model.config();
  TANDEM_CHECK(c.sliding_window <= 0 || max_positions <= c.sliding_window, "generation: ", max_positions,
               " positions exceed the sliding_window ", c.sliding_window);
  const RopeTable rope = rope_table(max_positions, c.head_dim, c.rope_theta, c.rope_scaling);
  rope_cos_ = Tensor("rope_cos", {rope.positions, rope.half}, DType::kF32, &backend_);
  rope_sin_ = Tensor("rope_sin", {rope.positions, rope.half}, DType::kF32, &backend_);
  rope_cos_.assign(rope.cos);
  rope_sin_.assign(rope.sin);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const Shape shape{max_positions, c.num_key_value_heads * c.head_dim};
    k_cache_.emplace_back("k_cache", shape, DType::kF32, &backend_);
    v_cache_.emplace_back("v_cache", shape, DType::kF32, &backend_);
  }
}

Tensor& KvDecoder::buffer(Tensor& t, const char* name, const Shape& shape) {
  return ensure_tensor(backend_, t, name, shape);
}

void KvDecoder::project(int64_t l, Proj p, const Tensor& x, Tensor& y, int64_t n) {
  const LayerWeights& lw = model_.weights().layers[l];
  const Tensor* bias = proj_bias(lw, p);
  backend_.linear_forward(y, x, proj_weight(lw, p), bias && !bias->empty() ? bias : nullptr, n);
  if (const LoraAdapter* ad = model_.adapter(l, p)) {
    const auto& lc = model_.lora().config;
    backend_.lora_forward(y, buffer(lora_h_, "lora_h", {n, lc.r}), x, ad->a, ad->b, n, lc.scale());
  }
}

// The layer of LlamaModel::layer_forward, for n new rows of one sequence whose keys and values are cached.
std::vector<float> KvDecoder::feed(const std::vector<int32_t>& tokens) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  const int64_t n = int64_t(tokens.size()), d = c.hidden_size, D = c.head_dim;
  const int64_t H = c.num_attention_heads, G = c.num_key_value_heads, F = c.intermediate_size;
  TANDEM_CHECK(length_ + n <= max_positions_, "generation: ", length_ + n, " positions exceed the cache of ",
               max_positions_);
  for (int32_t t : tokens)
    TANDEM_CHECK(t >= 0 && t < c.vocab_size, "generation: token id ", t, " outside the vocabulary");

  std::vector<int32_t> positions(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) positions[size_t(i)] = int32_t(length_ + i);
  upload_ints(backend_, ids_, "tokens", tokens);
  upload_ints(backend_, pos_, "positions", positions);
  Tensor &x = buffer(x_, "x", {n, d}), &h = buffer(h_, "h", {n, d}), &o = buffer(o_, "o", {n, d});
  Tensor &q = buffer(q_, "q", {n, H * D}), &k = buffer(k_, "k", {n, G * D}), &v = buffer(v_, "v", {n, G * D});
  Tensor &att = buffer(att_, "att", {n, H * D}), &gate = buffer(gate_, "gate", {n, F});
  Tensor &up = buffer(up_, "up", {n, F}), &act = buffer(act_, "act", {n, F});
  backend_.embedding_forward(x, ids_, w.embed);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    backend_.rmsnorm_forward(h, buffer(rstd_, "rstd", {n}), x, lw.input_norm, n, c.rms_norm_eps, 0.0);
    if (c.qk_norm) {
      Tensor &q_pre = buffer(q_pre_, "q_pre", {n, H * D}), &k_pre = buffer(k_pre_, "k_pre", {n, G * D});
      project(l, Proj::kQ, h, q_pre, n);
      project(l, Proj::kK, h, k_pre, n);
      backend_.rmsnorm_forward(q, buffer(rstd_, "rstd", {n * H}), q_pre, lw.q_norm, n * H, c.rms_norm_eps, 0.0);
      backend_.rmsnorm_forward(k, buffer(rstd_, "rstd", {n * G}), k_pre, lw.k_norm, n * G, c.rms_norm_eps, 0.0);
    } else {
      project(l, Proj::kQ, h, q, n);
      project(l, Proj::kK, h, k, n);
    }
    project(l, Proj::kV, h, v, n);
    backend_.rope(q, rope_cos_, rope_sin_, 1, n, H, &pos_, false);
    backend_.rope(k, rope_cos_, rope_sin_, 1, n, G, &pos_, false);
    backend_.copy_elements(k_cache_[l], length_ * G * D, k, 0, n * G * D);
    backend_.copy_elements(v_cache_[l], length_ * G * D, v, 0, n * G * D);
    backend_.attention_decode(att, q, k_cache_[l], v_cache_[l], length_, n, H, G, {});
    project(l, Proj::kO, att, o, n);
    backend_.add(x, x, o);
    backend_.rmsnorm_forward(h, buffer(rstd_, "rstd", {n}), x, lw.post_norm, n, c.rms_norm_eps, 0.0);
    project(l, Proj::kGate, h, gate, n);
    project(l, Proj::kUp, h, up, n);
    backend_.glu_forward(act, gate, up, Activation::kSilu);
    project(l, Proj::kDown, act, o, n);
    backend_.add(x, x, o);
  }
  backend_.rmsnorm_forward(h, buffer(rstd_, "rstd", {n}), x, w.final_norm, n, c.rms_norm_eps, 0.0);
  Tensor& logits = buffer(logits_, "logits", {n, c.vocab_size});
  backend_.linear_forward(logits, h, w.output_matrix(), nullptr, n);
  length_ += n;
  return logits.to_floats();
}

int32_t sample_token(const float* logits, int64_t vocab, const GenerationConfig& cfg, Rng& rng) {
  if (cfg.temperature <= 0) return int32_t(std::max_element(logits, logits + vocab) - logits);
  std::vector<int32_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  const int64_t k = cfg.top_k > 0 ? std::min(cfg.top_k, vocab) : vocab;
  std::vector<double> p(k);
  double total = 0;
  for (int64_t i = 0; i < k; ++i) total += p[i] = std::exp((double(logits[order[i]]) - logits[order[0]]) / cfg.temperature);
  // Nucleus: the smallest prefix whose probability reaches top_p.
  int64_t keep = k;
  double cumulative = 0;
  for (int64_t i = 0; i < k; ++i) {
    cumulative += p[i] / total;
    if (cumulative >= cfg.top_p) {
      keep = i + 1;
      break;
    }
  }
  double mass = 0;
  for (int64_t i = 0; i < keep; ++i) mass += p[i];
  double u = rng.uniform() * mass;
  for (int64_t i = 0; i < keep; ++i)
    if ((u -= p[i]) <= 0) return order[i];
  return order[keep - 1];
}

std::vector<int32_t> generate(const LlamaModel& model, const std::vector<int32_t>& prompt, const GenerationConfig& cfg,
                              Rng& rng) {
  TANDEM_CHECK(!prompt.empty(), "generation: empty prompt");
  KvDecoder decoder(model, int64_t(prompt.size()) + cfg.max_new_tokens);
  std::vector<float> logits = decoder.feed(prompt);
  const int64_t V = model.config().vocab_size;
  std::vector<int32_t> out;
  const float* last = logits.data() + (int64_t(prompt.size()) - 1) * V;
  for (int64_t i = 0; i < cfg.max_new_tokens; ++i) {
    const int32_t t = sample_token(last, V, cfg, rng);
    out.push_back(t);
    if (std::find(cfg.stop_tokens.begin(), cfg.stop_tokens.end(), t) != cfg.stop_tokens.end()) break;
    if (i + 1 == cfg.max_new_tokens) break;
    logits = decoder.feed({t});
    last = logits.data();
  }
  return out;
}

}  // namespace tandem
