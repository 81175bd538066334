#include "backends/cpu/kernels/rope.h"

#include <cmath>

#include "core/check.h"

namespace tandem {

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
