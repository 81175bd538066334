#include "model/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/lora.h"
#include "kernels/rmsnorm.h"
#include "kernels/swiglu.h"

namespace tandem {

KvDecoder::KvDecoder(const LlamaModel& model, int64_t max_positions)
    : model_(model), max_positions_(max_positions) {
  const ModelConfig& c = model.config();
  TANDEM_CHECK(c.sliding_window <= 0 || max_positions <= c.sliding_window, "generation: ", max_positions,
               " positions exceed the sliding_window ", c.sliding_window);
  rope_ = rope_table(max_positions, c.head_dim, c.rope_theta, c.rope_scaling);
  k_cache_.assign(c.num_hidden_layers, std::vector<float>(max_positions * c.num_key_value_heads * c.head_dim));
  v_cache_ = k_cache_;
}

void KvDecoder::project(int64_t l, Proj p, const float* x, float* y, int64_t n) {
  const LayerWeights& lw = model_.weights().layers[l];
  const Tensor& w = proj_weight(lw, p);
  const Tensor* bias = proj_bias(lw, p);
  const int64_t out = w.dim(0), in = w.dim(1);
  linear_forward(y, x, w.ptr(), bias && !bias->empty() ? bias->ptr() : nullptr, n, in, out);
  if (const LoraAdapter* ad = model_.adapter(l, p)) {
    const auto& lc = model_.lora().config;
    lora_scratch_.resize(size_t(n * lc.r));
    lora_forward(y, lora_scratch_.data(), x, ad->a.ptr(), ad->b.ptr(), LoraShape{n, in, out, lc.r, lc.scale()});
  }
}

std::vector<float> KvDecoder::feed(const std::vector<int32_t>& tokens) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  const int64_t n = int64_t(tokens.size()), d = c.hidden_size, D = c.head_dim;
  const int64_t H = c.num_attention_heads, G = c.num_key_value_heads, F = c.intermediate_size, group = H / G;
  TANDEM_CHECK(length_ + n <= max_positions_, "generation: ", length_ + n, " positions exceed the cache of ",
               max_positions_);
  for (int32_t t : tokens)
    TANDEM_CHECK(t >= 0 && t < c.vocab_size, "generation: token id ", t, " outside the vocabulary");

  // The RoPE rows of the new positions, as a table rope_forward can index from 0.
  RopeTable rope;
  rope.positions = n;
  rope.half = rope_.half;
  rope.cos.assign(rope_.cos.begin() + length_ * rope_.half, rope_.cos.begin() + (length_ + n) * rope_.half);
  rope.sin.assign(rope_.sin.begin() + length_ * rope_.half, rope_.sin.begin() + (length_ + n) * rope_.half);

  std::vector<float> x(n * d), h(n * d), rstd(n * std::max(H, G)), q(n * H * D), k(n * G * D), v(n * G * D);
  std::vector<float> att(n * H * D), o(n * d), gate(n * F), up(n * F), act(n * F), scores(length_ + n);
  embedding_forward(x.data(), tokens.data(), w.embed.ptr(), n, d);
  const float scale = 1.0f / std::sqrt(float(D));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    rmsnorm_forward(h.data(), rstd.data(), x.data(), lw.input_norm.ptr(), n, d, c.rms_norm_eps);
    project(l, Proj::kQ, h.data(), q.data(), n);
    project(l, Proj::kK, h.data(), k.data(), n);
    project(l, Proj::kV, h.data(), v.data(), n);
    if (c.qk_norm) {
      std::vector<float> tmp = q;
      rmsnorm_forward(q.data(), rstd.data(), tmp.data(), lw.q_norm.ptr(), n * H, D, c.rms_norm_eps);
      tmp = k;
      rmsnorm_forward(k.data(), rstd.data(), tmp.data(), lw.k_norm.ptr(), n * G, D, c.rms_norm_eps);
    }
    rope_forward(q.data(), rope, 1, n, H, D);
    rope_forward(k.data(), rope, 1, n, G, D);
    std::copy(k.begin(), k.end(), k_cache_[l].begin() + length_ * G * D);
    std::copy(v.begin(), v.end(), v_cache_[l].begin() + length_ * G * D);
    // Causal attention of each new row over the cache (its own position included).
    for (int64_t i = 0; i < n; ++i)
      for (int64_t hh = 0; hh < H; ++hh) {
        const int64_t g = hh / group, last = length_ + i;
        const float* qi = q.data() + (i * H + hh) * D;
        float mx = -INFINITY;
        for (int64_t j = 0; j <= last; ++j) {
          const float* kj = k_cache_[l].data() + (j * G + g) * D;
          float s = 0;
          for (int64_t e = 0; e < D; ++e) s += qi[e] * kj[e];
          scores[j] = s * scale;
          mx = std::max(mx, scores[j]);
        }
        float sum = 0;
        for (int64_t j = 0; j <= last; ++j) sum += (scores[j] = std::exp(scores[j] - mx));
        float* oi = att.data() + (i * H + hh) * D;
        std::fill(oi, oi + D, 0.0f);
        for (int64_t j = 0; j <= last; ++j) {
          const float* vj = v_cache_[l].data() + (j * G + g) * D;
          const float pj = scores[j] / sum;
          for (int64_t e = 0; e < D; ++e) oi[e] += pj * vj[e];
        }
      }
    project(l, Proj::kO, att.data(), o.data(), n);
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];
    rmsnorm_forward(h.data(), rstd.data(), x.data(), lw.post_norm.ptr(), n, d, c.rms_norm_eps);
    project(l, Proj::kGate, h.data(), gate.data(), n);
    project(l, Proj::kUp, h.data(), up.data(), n);
    swiglu_forward(act.data(), gate.data(), up.data(), n * F);
    project(l, Proj::kDown, act.data(), o.data(), n);
    for (int64_t i = 0; i < n * d; ++i) x[i] += o[i];
  }
  rmsnorm_forward(h.data(), rstd.data(), x.data(), w.final_norm.ptr(), n, d, c.rms_norm_eps);
  std::vector<float> logits(n * c.vocab_size);
  linear_forward(logits.data(), h.data(), w.output_matrix().ptr(), nullptr, n, d, c.vocab_size);
  length_ += n;
  return logits;
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
