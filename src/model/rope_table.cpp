#include "model/rope_table.h"

#include <cmath>

#include "core/check.h"

namespace tandem {

std::vector<float> rope_inv_freq(int64_t head_dim, double theta, const RopeScaling& scaling) {
  TANDEM_CHECK(head_dim % 2 == 0, "rope: head_dim must be even, got ", head_dim);
  const int64_t half = head_dim / 2;
  std::vector<float> inv(half);
  for (int64_t i = 0; i < half; ++i)
    inv[i] = 1.0f / std::pow(static_cast<float>(theta), static_cast<float>(2 * i) / static_cast<float>(head_dim));

  if (scaling.type == "default") return inv;
  if (scaling.type == "linear") {
    for (auto& f : inv) f /= static_cast<float>(scaling.factor);
    return inv;
  }
  TANDEM_CHECK(scaling.type == "llama3", "rope_scaling: unsupported rope_type '", scaling.type,
               "' (supported: default, linear, llama3)");
  // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, the band between interpolated.
  const float factor = static_cast<float>(scaling.factor);
  const float lo = static_cast<float>(scaling.low_freq_factor), hi = static_cast<float>(scaling.high_freq_factor);
  const float old_ctx = static_cast<float>(scaling.original_max_position_embeddings);
  const float low_freq_wavelen = old_ctx / lo, high_freq_wavelen = old_ctx / hi;
  for (auto& f : inv) {
    const float wavelen = 2.0f * static_cast<float>(M_PI) / f;
    float scaled = wavelen > low_freq_wavelen ? f / factor : f;
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    if (medium) {
      const float smooth = (old_ctx / wavelen - lo) / (hi - lo);
      scaled = (1.0f - smooth) * scaled / factor + smooth * scaled;
    }
    f = scaled;
  }
  return inv;
}

RopeTable rope_table(int64_t positions, int64_t head_dim, double theta, const RopeScaling& scaling) {
  RopeTable t;
  t.positions = positions;
  t.half = head_dim / 2;
  const std::vector<float> inv = rope_inv_freq(head_dim, theta, scaling);
  t.cos.resize(positions * t.half);
  t.sin.resize(positions * t.half);
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t i = 0; i < t.half; ++i) {
      const float angle = static_cast<float>(p) * inv[i];  // fp32 product, as in transformers
      t.cos[p * t.half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      t.sin[p * t.half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  return t;
}

}  // namespace tandem
