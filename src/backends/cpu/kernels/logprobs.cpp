#include "backends/cpu/kernels/logprobs.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/backend.h"
#include "core/blas.h"
#include "core/check.h"
#include "core/fastmath.h"

namespace tandem {

namespace {

// Shared driver. For each chunk of pairs: gather their x rows, logits = xc W^T (soft-capped when s.softcap > 0),
// then per pair turn logits into either nothing more (forward) or dlogits = grad * (onehot - softmax) (backward),
// times the cap's slope 1 - tanh^2 when capped.
template <typename S, typename F = typename LogprobWorkspace<S>::C>
void run(F* logp, F* dx, F* dw, const F* grad, const S* x, const S* w, const ScoredPairs& pairs,
         const LogprobShape& s, LogprobWorkspace<S>* ws) {
  LogprobWorkspace<S> local;
  if (!ws) ws = &local;
  const int64_t V = s.vocab, D = s.dim, n = pairs.count;
  TANDEM_CHECK(s.softcap >= 0, "token_logprobs: final logit softcap ", s.softcap, " must be >= 0 (0: off)");
  for (int64_t k = 0; k < n; ++k) {
    TANDEM_CHECK(pairs.target[k] >= 0 && pairs.target[k] < V, "token_logprobs: target id ", pairs.target[k],
                 " of pair ", k, " is outside vocab ", V);
    TANDEM_CHECK(pairs.row_index[k] >= 0 && pairs.row_index[k] < s.rows, "token_logprobs: row ",
                 pairs.row_index[k], " of pair ", k, " is outside ", s.rows, " rows");
  }
  const int64_t chunk = logits_chunk_rows(s.chunk_rows, s.vocab);
  const int64_t max_rows = std::min<int64_t>(chunk, n);
  std::vector<S>& xc = ws->x_chunk;
  std::vector<F>& logits = ws->logits;
  std::vector<F>& dxc = ws->dx_chunk;
  xc.resize(max_rows * D);  // no zeroing needed: every element is written before it is read
  logits.resize(max_rows * V);
  if (grad) dxc.resize(max_rows * D);
  const F cap = F(s.softcap), inv_cap = s.softcap > 0 ? F(1) / cap : F(0);
  constexpr bool kRoundedGrad = !std::is_same_v<S, F>;  // bf16 GEMMs need the logit gradient in bf16
  if (grad && kRoundedGrad) ws->dlogits.resize(max_rows * V);

  for (int64_t c0 = 0; c0 < n; c0 += chunk) {
    const int64_t c = std::min<int64_t>(chunk, n - c0);
    for (int64_t i = 0; i < c; ++i) std::copy_n(x + int64_t(pairs.row_index[c0 + i]) * D, D, xc.data() + i * D);
    gemm(false, true, int(c), int(V), int(D), F(1), xc.data(), int(D), w, int(D), F(0), logits.data(), int(V));

#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < c; ++i) {
      const int64_t r = c0 + i;  // the pair
      F* row = logits.data() + i * V;
      if (cap > 0)
#pragma omp simd
        for (int64_t j = 0; j < V; ++j) row[j] = cap * std::tanh(row[j] * inv_cap);
      F mx = row[0];
#pragma omp simd reduction(max : mx)  // a max is exact in any order, so vector lanes change nothing
      for (int64_t j = 1; j < V; ++j) mx = std::max(mx, row[j]);
      const int32_t t = pairs.target[r];
      const F logit_t = row[t];  // read before the row is overwritten with probabilities
      F sum = 0;
      if (!grad || cap > 0) {  // a capped row keeps its logits: the backward needs them for the cap's slope
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < V; ++j) sum += exp_fast(row[j] - mx);
      } else {
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < V; ++j) {
          row[j] = exp_fast(row[j] - mx);  // row now holds unnormalised probabilities
          sum += row[j];
        }
      }
      const F lse = mx + std::log(sum);
      if (logp) logp[r] = logit_t - lse;
      if (!grad) continue;
      // d logp / d logits = onehot(t) - softmax; for bf16 GEMMs rounded to bf16 in the same pass.
      const F scale = -grad[r] / sum;
      if (cap > 0) {
        // dlogit_j = (onehot_j grad - grad p_j) (1 - (c_j / cap)^2), with c_j the capped logit row[j] holds.
        auto slope = [&](F c) { return F(1) - (c * inv_cap) * (c * inv_cap); };
        const F at_target = (exp_fast(row[t] - mx) * scale + grad[r]) * slope(row[t]);
        if constexpr (kRoundedGrad) {
          S* out = ws->dlogits.data() + i * V;
#pragma omp simd
          for (int64_t j = 0; j < V; ++j) out[j] = to_bf16(exp_fast(row[j] - mx) * scale * slope(row[j]));
          out[t] = to_bf16(at_target);
        } else {
#pragma omp simd
          for (int64_t j = 0; j < V; ++j) row[j] = exp_fast(row[j] - mx) * scale * slope(row[j]);
          row[t] = at_target;
        }
        continue;
      }
      if constexpr (kRoundedGrad) {
        const F at_target = row[t] * scale + grad[r];
        S* out = ws->dlogits.data() + i * V;
#pragma omp simd
        for (int64_t j = 0; j < V; ++j) out[j] = to_bf16(row[j] * scale);
        out[t] = to_bf16(at_target);
      } else {
#pragma omp simd
        for (int64_t j = 0; j < V; ++j) row[j] *= scale;
        row[t] += grad[r];
      }
    }
    if (!grad) continue;
    const S* dlogits;
    if constexpr (kRoundedGrad) dlogits = ws->dlogits.data();
    else dlogits = logits.data();
    gemm(false, false, int(c), int(D), int(V), F(1), dlogits, int(V), w, int(D), F(0), dxc.data(), int(D));
    if (dw) gemm(true, false, int(V), int(D), int(c), F(1), dlogits, int(V), xc.data(), int(D), F(1), dw, int(D));
    for (int64_t i = 0; i < c; ++i) {  // serial: a row scored twice receives both gradients
      F* dst = dx + int64_t(pairs.row_index[c0 + i]) * D;
      const F* src = dxc.data() + i * D;
      for (int64_t d = 0; d < D; ++d) dst[d] += src[d];
    }
  }
}

}  // namespace

template <typename F>
void token_logprobs_forward(F* logp, const F* x, const F* w, const ScoredPairs& pairs, const LogprobShape& s,
                            LogprobWorkspace<F>* ws) {
  run<F, F>(logp, nullptr, nullptr, nullptr, x, w, pairs, s, ws);
}

template <typename F>
void token_logprobs_backward(F* dx, F* dw, const F* grad, const F* x, const F* w, const ScoredPairs& pairs,
                             const LogprobShape& s, F* logp, LogprobWorkspace<F>* ws) {
  run<F, F>(logp, dx, dw, grad, x, w, pairs, s, ws);
}

void token_logprobs_forward(float* logp, const bf16* x, const bf16* w, const ScoredPairs& pairs,
                            const LogprobShape& s, LogprobWorkspace<bf16>* ws) {
  run<bf16, float>(logp, nullptr, nullptr, nullptr, x, w, pairs, s, ws);
}

void token_logprobs_backward(float* dx, float* dw, const float* grad, const bf16* x, const bf16* w,
                             const ScoredPairs& pairs, const LogprobShape& s, float* logp,
                             LogprobWorkspace<bf16>* ws) {
  run<bf16, float>(logp, dx, dw, grad, x, w, pairs, s, ws);
}

template void token_logprobs_forward<float>(float*, const float*, const float*, const ScoredPairs&,
                                            const LogprobShape&, LogprobWorkspace<float>*);
template void token_logprobs_forward<double>(double*, const double*, const double*, const ScoredPairs&,
                                             const LogprobShape&, LogprobWorkspace<double>*);
template void token_logprobs_backward<float>(float*, float*, const float*, const float*, const float*,
                                             const ScoredPairs&, const LogprobShape&, float*,
                                             LogprobWorkspace<float>*);
template void token_logprobs_backward<double>(double*, double*, const double*, const double*, const double*,
                                              const ScoredPairs&, const LogprobShape&, double*,
                                              LogprobWorkspace<double>*);

}  // namespace tandem
