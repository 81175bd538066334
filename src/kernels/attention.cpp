#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/blas.h"
#include "core/check.h"
#include "core/fastmath.h"

namespace tandem {

namespace {
// Keys row i may see: [lo, i] and [0, pre). Plain causal: lo = 0, pre = 0.
struct Visible {
  int64_t lo, pre;
  bool operator()(int64_t i, int64_t j) const { return j <= i && (j >= lo || j < pre); }
};
Visible visible(const AttentionMask& m, int64_t flat) {
  return {m.segment_start ? m.segment_start[flat] : 0, m.prefix_end ? m.prefix_end[flat] : 0};
}

void check_shape(const AttentionShape& s) {
  TANDEM_CHECK(s.kv_heads > 0 && s.heads % s.kv_heads == 0, "attention: num_attention_heads (", s.heads,
               ") must be a multiple of num_key_value_heads (", s.kv_heads, ")");
}
}  // namespace

template <typename F>
void attention_forward(F* out, F* lse, const F* q, const F* k, const F* v, const int32_t* lengths,
                       const AttentionShape& s, const AttentionMask& mask) {
  check_shape(s);
  const int64_t T = s.seq, H = s.heads, G = s.kv_heads, D = s.head_dim, group = H / G;
  const int q_stride = int(H * D), kv_stride = int(G * D);
  const F scale = F(1) / std::sqrt(F(D));
#pragma omp parallel
  {
    std::vector<F> scores(T * T);
#pragma omp for collapse(2) schedule(dynamic)
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t L = lengths[b], g = h / group;
        const F* qh = q + b * T * H * D + h * D;
        const F* kg = k + b * T * G * D + g * D;
        const F* vg = v + b * T * G * D + g * D;
        F* oh = out + b * T * H * D + h * D;
        F* lse_bh = lse + (b * H + h) * T;
        // scores = scale * Q K^T over the real rows; the upper triangle is masked below.
        gemm(false, true, int(L), int(L), int(D), scale, qh, q_stride, kg, kv_stride, F(0), scores.data(), int(L));
        for (int64_t i = 0; i < L; ++i) {
          F* row = scores.data() + i * L;
          const Visible see = visible(mask, b * T + i);
          F mx = row[i];  // a row always sees itself
          for (int64_t j = 0; j < i; ++j)
            if (see(i, j)) mx = std::max(mx, row[j]);
          F sum = 0;
          for (int64_t j = 0; j <= i; ++j) {
            row[j] = see(i, j) ? exp_fast(row[j] - mx) : F(0);
            sum += row[j];
          }
          const F inv = F(1) / sum;
          for (int64_t j = 0; j <= i; ++j) row[j] *= inv;
          std::fill(row + i + 1, row + L, F(0));
          lse_bh[i] = mx + std::log(sum);
        }
        std::fill(lse_bh + L, lse_bh + T, F(0));
        gemm(false, false, int(L), int(D), int(L), F(1), scores.data(), int(L), vg, kv_stride, F(0), oh, q_stride);
        for (int64_t i = L; i < T; ++i) std::fill(oh + i * H * D, oh + i * H * D + D, F(0));
      }
  }
}

template <typename F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* out, const F* lse, const F* q, const F* k,
                        const F* v, const int32_t* lengths, const AttentionShape& s, const AttentionMask& mask) {
  check_shape(s);
  const int64_t T = s.seq, H = s.heads, G = s.kv_heads, D = s.head_dim, group = H / G;
  const int q_stride = int(H * D), kv_stride = int(G * D);
  const F scale = F(1) / std::sqrt(F(D));
#pragma omp parallel
  {
    std::vector<F> probs(T * T), dprobs(T * T), row_dot(T);
    // One task per (sequence, kv head): the query heads of a group all write the same dk/dv rows.
#pragma omp for collapse(2) schedule(dynamic)
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t g = 0; g < G; ++g) {
        const int64_t L = lengths[b];
        const F* kg = k + b * T * G * D + g * D;
        const F* vg = v + b * T * G * D + g * D;
        F* dkg = dk + b * T * G * D + g * D;
        F* dvg = dv + b * T * G * D + g * D;
        for (int64_t h = g * group; h < (g + 1) * group; ++h) {
          const int64_t off = b * T * H * D + h * D;
          const F* lse_bh = lse + (b * H + h) * T;
          F* P = probs.data();
          F* dP = dprobs.data();
          gemm(false, true, int(L), int(L), int(D), scale, q + off, q_stride, kg, kv_stride, F(0), P, int(L));
          for (int64_t i = 0; i < L; ++i) {
            F* row = P + i * L;
            const Visible see = visible(mask, b * T + i);
            for (int64_t j = 0; j <= i; ++j) row[j] = see(i, j) ? exp_fast(row[j] - lse_bh[i]) : F(0);
            std::fill(row + i + 1, row + L, F(0));
            F dot = 0;
            for (int64_t d = 0; d < D; ++d) dot += dout[off + i * H * D + d] * out[off + i * H * D + d];
            row_dot[i] = dot;
          }
          // dV += P^T dO ; dP = dO V^T ; dS = P * (dP - rowdot(dO, O)) ; dQ += scale dS K ; dK += scale dS^T Q.
          gemm(true, false, int(L), int(D), int(L), F(1), P, int(L), dout + off, q_stride, F(1), dvg, kv_stride);
          gemm(false, true, int(L), int(L), int(D), F(1), dout + off, q_stride, vg, kv_stride, F(0), dP, int(L));
          for (int64_t i = 0; i < L; ++i)
            for (int64_t j = 0; j <= i; ++j) P[i * L + j] *= dP[i * L + j] - row_dot[i];
          gemm(false, false, int(L), int(D), int(L), scale, P, int(L), kg, kv_stride, F(1), dq + off, q_stride);
          gemm(true, false, int(L), int(D), int(L), scale, P, int(L), q + off, q_stride, F(1), dkg, kv_stride);
        }
      }
  }
}

template void attention_forward<float>(float*, float*, const float*, const float*, const float*, const int32_t*,
                                       const AttentionShape&, const AttentionMask&);
template void attention_forward<double>(double*, double*, const double*, const double*, const double*,
                                        const int32_t*, const AttentionShape&, const AttentionMask&);
template void attention_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                        const float*, const float*, const float*, const int32_t*,
                                        const AttentionShape&, const AttentionMask&);
template void attention_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                         const double*, const double*, const double*, const int32_t*,
                                         const AttentionShape&, const AttentionMask&);

}  // namespace tandem
