#include "backends/cpu/kernels/attention_decode.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/attention_checks.h"

namespace tandem {

template <typename F>
void attention_decode(F* out, const F* q, const F* k_cache, const F* v_cache, int64_t start, int64_t n,
                      int64_t heads, int64_t kv_heads, int64_t head_dim, const AttentionScoring& scoring) {
  check_attention_scoring("attention_decode", scoring);
  const int64_t H = heads, G = kv_heads, D = head_dim, group = H / G;
  const F scale = scoring.scale > 0 ? F(scoring.scale) : F(1) / std::sqrt(F(D));
  const F cap = F(scoring.softcap);
#pragma omp parallel
  {
    std::vector<F> scores(size_t(start + n));
#pragma omp for collapse(2) schedule(static)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / group, last = start + i;
        const int64_t first = scoring.window > 0 ? std::max<int64_t>(0, last - scoring.window + 1) : 0;
        const F* qi = q + (i * H + h) * D;
        F mx = -INFINITY;
        for (int64_t j = first; j <= last; ++j) {
          const F* kj = k_cache + (j * G + g) * D;
          F s = 0;
          for (int64_t e = 0; e < D; ++e) s += qi[e] * kj[e];
          s *= scale;
          scores[j] = cap > 0 ? cap * std::tanh(s / cap) : s;
          mx = std::max(mx, scores[j]);
        }
        F sum = 0;
        for (int64_t j = first; j <= last; ++j) sum += (scores[j] = std::exp(scores[j] - mx));
        F* oi = out + (i * H + h) * D;
        std::fill(oi, oi + D, F(0));
        for (int64_t j = first; j <= last; ++j) {
          const F* vj = v_cache + (j * G + g) * D;
          const F pj = scores[j] / sum;
          for (int64_t e = 0; e < D; ++e) oi[e] += pj * vj[e];
        }
      }
  }
}

template void attention_decode<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t,
                                      int64_t, int64_t, const AttentionScoring&);
template void attention_decode<double>(double*, const double*, const double*, const double*, int64_t, int64_t,
                                       int64_t, int64_t, int64_t, const AttentionScoring&);

}  // namespace tandem
