#include "model/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "core/arena.h"
#include "core/check.h"
#include "model/rope_table.h"

namespace tandem {

KvDecoder::KvDecoder(const DecoderModel& model, int64_t max_positions)
    : model_(model), backend_(model.backend()), max_positions_(max_positions) {
  const ModelConfig& c = model.config();
  const RopeTable rope = rope_table(max_positions, c.rotary_dims(), c.rope_theta, c.rope_scaling);
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

Tensor& KvDecoder::buffer(Tensor& t, const char* name, const Shape& shape, DType dtype) {
  return ensure_tensor(backend_, t, name, shape, dtype);
}

// The layer's activation table for n rows, laid out as training lays out one recomputed layer. Decoding computes in
// f32 whatever the weights' dtype (a bf16 model's weights are read as they are): the cache stays f32.
void KvDecoder::layout_rows(int64_t n) {
  if (n == rows_) return;
  const ModelConfig& c = model_.config();
  const DType dtype = DType::kF32;
  const ActivationLayout lay = activation_layout(c, 1, n, /*recompute=*/true, dtype);
  acts_ = LayerActs{};
  block_ = arena_block("decode_activations", lay.bytes, &backend_);
  for (int a = 0; a < kNumActs; ++a)
    acts_.t[size_t(a)] = Tensor::view(act_name(Act(a)), act_shape(Act(a), c, 1, n), act_dtype(Act(a), dtype), block_,
                                      lay.layers[0][size_t(a)]);
  rows_ = n;
}

void KvDecoder::project(int64_t l, Proj p, const Tensor& x, Tensor& y, LayerActs&) {
  const LayerWeights& lw = model_.weights().layers[l];
  backend_.linear_forward(y, x, proj_weight(lw, p), proj_bias(lw, p), rows_);
  if (const LoraAdapter* ad = model_.adapter(l, p)) {
    const auto& lc = model_.lora().config;
    backend_.lora_forward(y, buffer(lora_h_, "lora_h", {rows_, lc.r}), x, ad->a, ad->b, rows_, lc.scale());
  }
}

void KvDecoder::attend(int64_t l, LayerActs& a) {
  const ModelConfig& c = model_.config();
  const int64_t width = c.num_key_value_heads * c.head_dim;
  backend_.copy_elements(k_cache_[l], length_ * width, a[Act::kK], 0, rows_ * width);
  backend_.copy_elements(v_cache_[l], length_ * width, a[Act::kV], 0, rows_ * width);
  backend_.attention_decode(a[Act::kAtt], a[Act::kQ], k_cache_[l], v_cache_[l], length_, rows_,
                            c.num_attention_heads, c.num_key_value_heads, attention_scoring(c, l));
}

void KvDecoder::truncate(int64_t length) {
  TANDEM_CHECK(length >= 0 && length <= length_, "generation: cannot truncate the cache of ", length_,
               " positions to ", length);
  length_ = length;
}

std::vector<float> KvDecoder::feed(const std::vector<int32_t>& tokens) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  const int64_t n = int64_t(tokens.size()), d = c.hidden_size;
  TANDEM_CHECK(length_ + n <= max_positions_, "generation: ", length_ + n, " positions exceed the cache of ",
               max_positions_);
  for (int32_t t : tokens)
    TANDEM_CHECK(t >= 0 && t < c.vocab_size, "generation: token id ", t, " outside the vocabulary");

  std::vector<int32_t> positions(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) positions[size_t(i)] = int32_t(length_ + i);
  upload_ints(backend_, ids_, "tokens", tokens);
  upload_ints(backend_, pos_, "positions", positions);
  layout_rows(n);
  Tensor* x = &buffer(x_[0], "x", {n, d});
  Tensor* next = &buffer(x_[1], "x", {n, d});
  backend_.embedding_forward(*x, ids_, w.embed);
  if (c.scale_embeddings) backend_.scale(*x, std::sqrt(double(d)));
  const LayerPass pass{backend_, c,         w,         1, n, &pos_, rope_cos_, rope_sin_,
                       buffer(scratch_, "branch_out", {n, d})};
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    layer_forward(pass, *this, l, *x, acts_, *next);
    std::swap(x, next);
  }
  Tensor& h = buffer(h_, "h", {n, d});
  norm_forward(backend_, c, h, buffer(mean_, "mean", {n}), buffer(rstd_, "rstd", {n}), *x, w.final_norm,
               w.final_norm_bias, n);
  Tensor& logits = buffer(logits_, "logits", {n, c.vocab_size});
  backend_.linear_forward(logits, h, w.output_matrix(), nullptr, n);
  if (c.final_logit_softcap > 0) backend_.tanh_softcap(logits, c.final_logit_softcap);
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

std::vector<int32_t> KvDecoder::continue_from(std::vector<float> logits, const GenerationConfig& cfg, Rng& rng) {
  const int64_t V = model_.config().vocab_size;
  TANDEM_CHECK(!logits.empty() && int64_t(logits.size()) % V == 0, "generation: no logits to continue from");
  const float* last = logits.data() + logits.size() - size_t(V);
  std::vector<int32_t> out;
  for (int64_t i = 0; i < cfg.max_new_tokens; ++i) {
    const int32_t t = sample_token(last, V, cfg, rng);
    out.push_back(t);
    if (std::find(cfg.stop_tokens.begin(), cfg.stop_tokens.end(), t) != cfg.stop_tokens.end()) break;
    if (i + 1 == cfg.max_new_tokens) break;
    logits = feed({t});
    last = logits.data();
  }
  return out;
}

std::vector<int32_t> generate(const DecoderModel& model, const std::vector<int32_t>& prompt, const GenerationConfig& cfg,
                              Rng& rng) {
  TANDEM_CHECK(!prompt.empty(), "generation: empty prompt");
  KvDecoder decoder(model, int64_t(prompt.size()) + cfg.max_new_tokens);
  return decoder.continue_from(decoder.feed(prompt), cfg, rng);
}

}  // namespace tandem
