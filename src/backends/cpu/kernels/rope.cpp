#include "backends/cpu/kernels/rope.h"

#include <cmath>

#include "core/check.h"

namespace tandem {

namespace {
// sign = +1 rotates forward, -1 rotates back (the transpose).
template <typename S, typename F = compute_t<S>>
void rotate(S* x, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, F sign,
            const int32_t* positions) {
  TANDEM_CHECK(table.positions >= seq && table.half > 0 && table.half * 2 <= head_dim, "rope: table for ",
               table.positions, " positions x ", table.half * 2, " rotary dims cannot serve seq ", seq,
               " x head_dim ", head_dim, " (the rotary dims must be at most head_dim)");
  const int64_t half = table.half;  // dims [2 * half, head_dim) pass through unrotated (partial rotary)
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t) {
      const int64_t pos = positions ? positions[b * seq + t] : t;
      const float* c = table.cos + pos * half;
      const float* s = table.sin + pos * half;
      for (int64_t h = 0; h < heads; ++h) {
        S* v = x + ((b * seq + t) * heads + h) * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const F x1 = load(v[i]), x2 = load(v[i + half]);
          const F ci = F(c[i]), si = sign * F(s[i]);
          v[i] = store<S>(x1 * ci - x2 * si);
          v[i + half] = store<S>(x2 * ci + x1 * si);
        }
      }
    }
}
}  // namespace

template <typename S>
void rope_forward(S* x, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                  const int32_t* positions) {
  rotate(x, table, batch, seq, heads, head_dim, compute_t<S>(1), positions);
}

template <typename S>
void rope_backward(S* dx, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                   const int32_t* positions) {
  rotate(dx, table, batch, seq, heads, head_dim, compute_t<S>(-1), positions);
}

#define TANDEM_INSTANTIATE(S)                                                                                 \
  template void rope_forward<S>(S*, const RopeView&, int64_t, int64_t, int64_t, int64_t, const int32_t*);        \
  template void rope_backward<S>(S*, const RopeView&, int64_t, int64_t, int64_t, int64_t, const int32_t*);
TANDEM_INSTANTIATE(float)
TANDEM_INSTANTIATE(double)
TANDEM_INSTANTIATE(bf16)
#undef TANDEM_INSTANTIATE

}  // namespace tandem
