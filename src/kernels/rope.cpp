#include "kernels/rope.h"

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

namespace {
// sign = +1 rotates forward, -1 rotates back (the transpose).
template <typename F>
void rotate(F* x, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, F sign,
            const int32_t* positions) {
  TANDEM_CHECK(table.positions >= seq && table.half * 2 == head_dim, "rope: table for ", table.positions,
               " positions x ", table.half * 2, " dims cannot serve seq ", seq, " x head_dim ", head_dim);
  const int64_t half = head_dim / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t) {
      const int64_t pos = positions ? positions[b * seq + t] : t;
      const float* c = table.cos + pos * half;
      const float* s = table.sin + pos * half;
      for (int64_t h = 0; h < heads; ++h) {
        F* v = x + ((b * seq + t) * heads + h) * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const F x1 = v[i], x2 = v[i + half];
          const F ci = F(c[i]), si = sign * F(s[i]);
          v[i] = x1 * ci - x2 * si;
          v[i + half] = x2 * ci + x1 * si;
        }
      }
    }
}
}  // namespace

template <typename F>
void rope_forward(F* x, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                  const int32_t* positions) {
  rotate(x, table, batch, seq, heads, head_dim, F(1), positions);
}

template <typename F>
void rope_backward(F* dx, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                   const int32_t* positions) {
  rotate(dx, table, batch, seq, heads, head_dim, F(-1), positions);
}

template void rope_forward<float>(float*, const RopeView&, int64_t, int64_t, int64_t, int64_t, const int32_t*);
template void rope_forward<double>(double*, const RopeView&, int64_t, int64_t, int64_t, int64_t, const int32_t*);
template void rope_backward<float>(float*, const RopeView&, int64_t, int64_t, int64_t, int64_t, const int32_t*);
template void rope_backward<double>(double*, const RopeView&, int64_t, int64_t, int64_t, int64_t, const int32_t*);

}  // namespace tandem
