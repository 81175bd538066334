// Text generation with a KV cache: the prompt is prefilled in one pass, then each new token costs one row
// through the model, attending to the cached keys and values. Greedy or sampled (temperature, top-k, top-p).
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "model/decoder_model.h"

namespace tandem {

struct GenerationConfig {
  int64_t max_new_tokens = 32;
  double temperature = 0.0;  // 0: greedy
  int64_t top_k = 0;         // 0: no limit
  double top_p = 1.0;
  std::vector<int32_t> stop_tokens;  // generation ends after emitting one of these
};

// Runs model/decoder_layer.h's layer over new rows of one sequence: projections without dropout, attention over
// the cached keys and values.
class KvDecoder : private LayerOps {
 public:
  KvDecoder(const DecoderModel& model, int64_t max_positions);
  // Appends tokens at the next positions and returns their logits, [tokens.size() x vocab].
  std::vector<float> feed(const std::vector<int32_t>& tokens);
  // Samples up to cfg.max_new_tokens after `logits` (a feed's result: its last row is read), feeding each one but
  // the last (a stop token, or the max_new_tokens-th), as generate() does.
  std::vector<int32_t> continue_from(std::vector<float> logits, const GenerationConfig& cfg, Rng& rng);
  int64_t length() const { return length_; }
  int64_t capacity() const { return max_positions_; }
  void reset() { length_ = 0; }
  // Forgets every position from `length` on: the next feed continues there (a chat whose re-rendered prompt agrees
  // with the cache on a prefix only).
  void truncate(int64_t length);

 private:
  void project(int64_t l, Proj p, const Tensor& x, Tensor& y, LayerActs& a) override;
  void attend(int64_t l, LayerActs& a) override;
  Tensor& buffer(Tensor& t, const char* name, const Shape& shape, DType dtype = DType::kF32);
  void layout_rows(int64_t n);
  const DecoderModel& model_;
  Backend& backend_;
  int64_t max_positions_, length_ = 0, rows_ = 0;
  Tensor rope_cos_, rope_sin_;                // [max_positions, rotary_dims / 2]
  std::vector<Tensor> k_cache_, v_cache_;    // per layer [max_positions, kv_heads * head_dim]
  // Per-call buffers of the new rows, kept between calls (one row per generated token): the layer's activation
  // table (model/activations.h) for n rows, the residual stream in two buffers (a layer's output may not alias its
  // input), and the final norm's output.
  Tensor block_, ids_, pos_, x_[2], h_, mean_, rstd_, scratch_, lora_h_, logits_;
  LayerActs acts_;
};

// Continues `prompt`; returns only the new tokens (a stop token included when it ended the generation).
std::vector<int32_t> generate(const DecoderModel& model, const std::vector<int32_t>& prompt, const GenerationConfig& cfg,
                              Rng& rng);

// Picks the next token from logits: argmax at temperature 0, else a sample after top-k / top-p filtering.
int32_t sample_token(const float* logits, int64_t vocab, const GenerationConfig& cfg, Rng& rng);

}  // namespace tandem
