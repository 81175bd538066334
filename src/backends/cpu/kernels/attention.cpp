// Tiled attention (contract in attention.h). Query rows go in blocks of kRowBlock; a block scores only the key
// tiles (kKeyTile keys) that at least one of its rows may see, packed side by side as runs of contiguous keys in
// a kRowBlock x T scratch buffer per thread, so causal attention does about half the work of the full L x L
// product, and packed or prefix-shared rows skip every tile the mask hides. The forward takes a full-row softmax
// over the block's visible span and saves only each row's log-sum-exp; the backward recomputes the probabilities
// block by block from it. Masking inside a visible tile is branch-free, so the softmax loops vectorise; plain causal
// rows need no mask at all (their keys end at the row), and skip the exp of their future. The GEMMs read each head
// from a dense head-major copy of the inputs.
#include "backends/cpu/kernels/attention.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "backends/attention_checks.h"
#include "core/blas.h"
#include "core/check.h"
#include "core/fastmath.h"

namespace tandem {

namespace {
constexpr int64_t kRowBlock = kAttentionRowBlock;  // query rows per block: each scratch buffer is kRowBlock x T
constexpr int64_t kKeyTile = kAttentionKeyTile;    // granularity at which keys no row of a block sees are skipped

constexpr int64_t kNoWindow = std::numeric_limits<int64_t>::max();

// Keys row i may see: [lo, i] and [0, pre), both cut to the sliding window (i - j < window). Plain causal: lo = 0,
// pre = 0, no window. Bitwise ops keep it branch-free.
struct Visible {
  int64_t lo, pre, window;
  bool operator()(int64_t i, int64_t j) const { return (j <= i) & ((j >= lo) | (j < pre)) & (i - j < window); }
  int64_t window_first(int64_t i) const { return window > i ? 0 : i - window + 1; }  // first key the window keeps
};
Visible visible(const AttentionMask& m, int64_t window, int64_t flat) {
  return {m.segment_start ? m.segment_start[flat] : 0, m.prefix_end ? m.prefix_end[flat] : 0, window};
}

// AttentionScoring in the kernels' terms: the score scale resolved, the window as "no limit" when off.
template <typename F>
struct Scoring {
  F scale, cap;  // cap 0: no soft cap
  int64_t window;
};
template <typename F>
Scoring<F> scoring(const AttentionShape& s) {
  const AttentionScoring& o = s.scoring;
  check_attention_scoring("attention", o);
  return {o.scale > 0 ? F(o.scale) : F(1) / std::sqrt(F(s.head_dim)), F(o.softcap),
          o.window > 0 ? o.window : kNoWindow};
}

void check_shape(const AttentionShape& s) { check_attention_heads("attention", s.heads, s.kv_heads); }

// Keys [begin, end) that a query block scores, stored from column `col` of the block's score rows.
struct KeyRun {
  int64_t begin, end, col;
};

// Fills `runs` with the key tiles some row of [i0, i1) may see (adjacent tiles merged); returns their total width.
// flat0 is the mask index of the sequence's row 0. A sliding window hides the tiles behind every row's window.
int64_t visible_runs(const AttentionMask& m, int64_t window, int64_t flat0, int64_t i0, int64_t i1,
                     std::vector<KeyRun>& runs) {
  runs.clear();
  int64_t width = 0;
  for (int64_t j0 = 0; j0 < i1; j0 += kKeyTile) {
    const int64_t j1 = std::min(j0 + kKeyTile, i1);  // keys at or past i1 are in every row's future
    bool seen = false;
    // Row i sees [max(lo, first), i] and [first, min(pre, i + 1)) with `first` its window's first key; rows
    // before j0 see nothing of the tile.
    for (int64_t i = std::max(i0, j0); i < i1 && !seen; ++i) {
      const Visible see = visible(m, window, flat0 + i);
      const int64_t first = std::max(j0, see.window_first(i));
      seen = std::max(first, see.lo) <= std::min(j1 - 1, i) || first < std::min(see.pre, i + 1);
    }
    if (!seen) continue;
    if (!runs.empty() && runs.back().end == j0)
      runs.back().end = j1;
    else
      runs.push_back({j0, j1, width});
    width += j1 - j0;
  }
  return width;
}

// One block of query rows [i0, i1) of one (sequence, query head), with the key runs its rows may see.
// q points at the head's row 0; k and v at the kv head's row 0; all three are row-strided.
template <typename F>
struct Tile {
  const F *q, *k, *v;
  int q_stride, kv_stride, head_dim;
  int64_t i0, i1, flat0;
  const std::vector<KeyRun>& runs;
  int width;
  int rows() const { return int(i1 - i0); }
  const F* key(const F* base, const KeyRun& r) const { return base + r.begin * kv_stride; }
};

// S[r, col] = scale * q_{i0+r} . k_j for every key j of the runs; S has t.width columns.
template <typename F>
void block_scores(F* S, const Tile<F>& t, F scale) {
  for (const KeyRun& r : t.runs)
    gemm(false, true, t.rows(), int(r.end - r.begin), t.head_dim, scale, t.q + t.i0 * t.q_stride, t.q_stride,
         t.key(t.k, r), t.kv_stride, F(0), S + r.col, t.width);
}

// Gemma-2's soft cap on n scores: S = cap tanh(S / cap), and slope = dS_capped / dS = 1 - tanh^2 when non-null
// (the backward's chain factor).
template <typename F>
void soft_cap(F* S, F* slope, int64_t n, F cap) {
  for (int64_t c = 0; c < n; ++c) {
    const F t = std::tanh(S[c] / cap);
    S[c] = cap * t;
    if (slope) slope[c] = F(1) - t * t;
  }
}

// Largest score row i may see (it always sees itself, so the result is finite).
// Plain causal rows (no segment, prefix or window structure) see exactly the keys up to their own: those loops need
// no mask.
bool plain_causal(Visible see) { return see.lo == 0 && see.pre == 0 && see.window == kNoWindow; }

template <typename F>
F masked_max(const F* row, const std::vector<KeyRun>& runs, int64_t i, Visible see) {
  constexpr F kLowest = std::numeric_limits<F>::lowest();
  F mx = kLowest;
  for (const KeyRun& r : runs) {
    const F* s = row + r.col;
    if (plain_causal(see)) {
      const int64_t n = std::min(r.end, i + 1) - r.begin;
#pragma omp simd reduction(max : mx)
      for (int64_t c = 0; c < n; ++c) mx = std::max(mx, s[c]);
      continue;
    }
    const int64_t n = r.end - r.begin;
#pragma omp simd reduction(max : mx)
    for (int64_t c = 0; c < n; ++c) mx = std::max(mx, see(i, r.begin + c) ? s[c] : kLowest);
  }
  return mx;
}

// row <- exp(row - shift) where row i may see the key and exactly 0 elsewhere; returns the row's sum.
template <typename F>
F masked_exp(F* row, const std::vector<KeyRun>& runs, int64_t i, Visible see, F shift) {
  F sum = 0;
  for (const KeyRun& r : runs) {
    F* s = row + r.col;
    const int64_t n = r.end - r.begin;
    if (plain_causal(see)) {  // keys [begin, i] are seen, the rest of the run is the row's future
      const int64_t seen = std::clamp<int64_t>(i + 1 - r.begin, 0, n);
#pragma omp simd reduction(+ : sum)
      for (int64_t c = 0; c < seen; ++c) {
        s[c] = exp_fast(s[c] - shift);
        sum += s[c];
      }
      std::fill(s + seen, s + n, F(0));
      continue;
    }
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < n; ++c) {
      const F p = see(i, r.begin + c) ? exp_fast(s[c] - shift) : F(0);
      s[c] = p;
      sum += p;
    }
  }
  return sum;
}

// out rows [i0, i1) = softmax(S) V over the visible keys; lse[i] = log sum_j exp(S_ij). S: kRowBlock x width.
template <typename F>
void forward_block(F* out, F* lse, F* S, F* inv, const Tile<F>& t, const AttentionMask& m, const Scoring<F>& sc) {
  const int n = t.rows();
  block_scores(S, t, sc.scale);
  if (sc.cap > 0) soft_cap(S, static_cast<F*>(nullptr), int64_t(n) * t.width, sc.cap);
  for (int r = 0; r < n; ++r) {
    const int64_t i = t.i0 + r;
    const Visible see = visible(m, sc.window, t.flat0 + i);
    F* row = S + int64_t(r) * t.width;
    const F mx = masked_max(row, t.runs, i, see);
    const F sum = masked_exp(row, t.runs, i, see, mx);
    inv[r] = F(1) / sum;
    lse[i] = mx + std::log(sum);
  }
  // Unnormalised P V, then each output row scaled by 1/sum: D multiplies per row instead of width.
  F* o = out + t.i0 * t.q_stride;
  for (const KeyRun& r : t.runs)
    gemm(false, false, n, t.head_dim, int(r.end - r.begin), F(1), S + r.col, t.width, t.key(t.v, r), t.kv_stride,
         r.col == 0 ? F(0) : F(1), o, t.q_stride);
  for (int r = 0; r < n; ++r) {
    F* orow = o + int64_t(r) * t.q_stride;
#pragma omp simd
    for (int d = 0; d < t.head_dim; ++d) orow[d] *= inv[r];
  }
}

// Head-major copies ([B, heads, T, D]) of the [B, T, heads, D] inputs: oneDNN's small per-block GEMMs run 15-45%
// faster on a head's dense rows than on rows strided by the whole width (128 x W x 64 products, bench_gemm-style
// measurement), for one O(N d) pass each way. The buffers belong to the calling thread and are reused across
// calls (grown, never zeroed: a fresh multi-MB vector per call would be page-faulted every step).
template <typename F, int kSlots>
F* reused_buffer(std::array<std::vector<F>, kSlots>& buffers, int slot, size_t n) {
  std::vector<F>& b = buffers[size_t(slot)];
  if (b.size() < n) b.resize(n);
  return b.data();
}
template <typename F>
F* head_major_buffer(int slot, size_t n) {
  static thread_local std::array<std::vector<F>, 8> buffers;
  return reused_buffer<F, 8>(buffers, slot, n);
}
// A block's score, probability-gradient and soft-cap slope rows, kRowBlock x T, per worker thread.
template <typename F>
F* block_scratch(int slot, int64_t T) {
  static thread_local std::array<std::vector<F>, 3> buffers;
  return reused_buffer<F, 3>(buffers, slot, size_t(kRowBlock * T));
}

// dst[b, h, t, :] = src[b, t, h, :], read from storage S into compute type F.
template <typename F, typename S>
F* gather_heads(int slot, const S* src, int64_t B, int64_t T, int64_t heads, int64_t D) {
  F* dst = head_major_buffer<F>(slot, size_t(B * T * heads * D));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        const S* x = src + ((b * T + t) * heads + h) * D;
        F* d = dst + ((b * heads + h) * T + t) * D;
#pragma omp simd
        for (int64_t i = 0; i < D; ++i) d[i] = load(x[i]);
      }
  return dst;
}

// A zeroed head-major accumulator.
template <typename F>
F* zero_heads(int slot, int64_t B, int64_t T, int64_t heads, int64_t D) {
  const int64_t n = B * T * heads * D;
  F* dst = head_major_buffer<F>(slot, size_t(n));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) dst[i] = F(0);
  return dst;
}

// dst[b, t, h, :] = src[b, h, t, :] stored as S, or += when `add`.
template <typename S, typename F>
void scatter_heads(S* dst, const F* src, int64_t B, int64_t T, int64_t heads, int64_t D, bool add) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        S* d = dst + ((b * T + t) * heads + h) * D;
        const F* x = src + ((b * heads + h) * T + t) * D;
        if (add)
#pragma omp simd
          for (int64_t i = 0; i < D; ++i) d[i] = store<S>(load(d[i]) + x[i]);
        else
#pragma omp simd
          for (int64_t i = 0; i < D; ++i) d[i] = store<S>(x[i]);
      }
}

// Rows [from, to) of one (sequence, head) are padding: zero output and log-sum-exp.
template <typename F>
void zero_rows(F* out, F* lse, int64_t from, int64_t to, int q_stride, int head_dim) {
  for (int64_t i = from; i < to; ++i) {
    std::fill(out + i * q_stride, out + i * q_stride + head_dim, F(0));
    lse[i] = F(0);
  }
}
}  // namespace

template <typename S>
void attention_forward(S* out, compute_t<S>* lse, const S* q, const S* k, const S* v, const int32_t* lengths,
                       const AttentionShape& s, const AttentionMask& mask) {
  using F = compute_t<S>;
  check_shape(s);
  const int64_t B = s.batch, T = s.seq, H = s.heads, G = s.kv_heads, D = s.head_dim, group = H / G;
  const int64_t blocks = (T + kRowBlock - 1) / kRowBlock;
  const int stride = int(D);  // every head's rows are dense in the head-major copies
  const Scoring<F> sc = scoring<F>(s);
  const F* qh = gather_heads<F>(0, q, B, T, H, D);
  const F* kh = gather_heads<F>(1, k, B, T, G, D);
  const F* vh = gather_heads<F>(2, v, B, T, G, D);
  F* oh = head_major_buffer<F>(3, size_t(B * T * H * D));
#pragma omp parallel
  {
    // Scratch is fully written before it is read: no need to zero it.
    F* scores = block_scratch<F>(0, T);
    F inv[kRowBlock];
    std::vector<KeyRun> runs;
    // Blocks are independent (each writes its own rows), so any schedule gives the same bits.
#pragma omp for collapse(3) schedule(dynamic)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t blk = 0; blk < blocks; ++blk) {
          const int64_t L = lengths[b], i0 = blk * kRowBlock, i1 = std::min(i0 + kRowBlock, L);
          F* o = oh + (b * H + h) * T * D;
          F* lse_bh = lse + (b * H + h) * T;
          zero_rows(o, lse_bh, std::max(i0, L), std::min(i0 + kRowBlock, T), stride, int(D));
          if (i0 >= L) continue;  // the whole block is padding
          const int width = int(visible_runs(mask, sc.window, b * T, i0, i1, runs));
          const int64_t kv_off = (b * G + h / group) * T * D;
          const Tile<F> t{qh + (b * H + h) * T * D, kh + kv_off, vh + kv_off, stride, stride, int(D), i0, i1, b * T,
                          runs, width};
          forward_block(o, lse_bh, scores, inv, t, mask, sc);
        }
  }
  scatter_heads(out, oh, B, T, H, D, false);
}

namespace {
// Gradients of one block. With P = softmax(S) and dO . O summed per row, dL/dS_ij = P_ij (dP_ij - dO_i . O_i)
// because sum_j P_ij dP_ij = dO_i . (sum_j P_ij v_j) = dO_i . O_i; hence
// dV += P^T dO, dP = dO V^T, dS = P * (dP - rowdot), dQ += scale dS K, dK += scale dS^T Q (masked P_ij = 0).
// With a soft cap, S = cap tanh(Z / cap) of the scaled products Z, and dZ = dS * (1 - tanh^2) replaces dS.
template <typename F>
void backward_block(F* dq, F* dk, F* dv, const F* dout, const F* out, const F* lse, F* P, F* dP, F* slope,
                    const Tile<F>& t, const AttentionMask& m, const Scoring<F>& sc) {
  const int n = t.rows(), D = t.head_dim, W = t.width;
  const F* dO = dout + t.i0 * t.q_stride;
  block_scores(P, t, sc.scale);
  if (sc.cap > 0) soft_cap(P, slope, int64_t(n) * W, sc.cap);
  for (int r = 0; r < n; ++r) {
    const int64_t i = t.i0 + r;
    masked_exp(P + int64_t(r) * W, t.runs, i, visible(m, sc.window, t.flat0 + i), lse[i]);
  }
  for (const KeyRun& r : t.runs) {
    const int len = int(r.end - r.begin);
    gemm(true, false, len, D, n, F(1), P + r.col, W, dO, t.q_stride, F(1), dv + r.begin * t.kv_stride, t.kv_stride);
    gemm(false, true, n, len, D, F(1), dO, t.q_stride, t.key(t.v, r), t.kv_stride, F(0), dP + r.col, W);
  }
  for (int r = 0; r < n; ++r) {
    const F* o = out + (t.i0 + r) * t.q_stride;
    const F* g = dO + int64_t(r) * t.q_stride;
    F dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int d = 0; d < D; ++d) dot += g[d] * o[d];
    F* p = P + int64_t(r) * W;
    const F* dp = dP + int64_t(r) * W;
#pragma omp simd
    for (int c = 0; c < W; ++c) p[c] *= dp[c] - dot;  // P now holds dS
    if (sc.cap > 0) {
      const F* sl = slope + int64_t(r) * W;
#pragma omp simd
      for (int c = 0; c < W; ++c) p[c] *= sl[c];  // and now dZ
    }
  }
  for (const KeyRun& r : t.runs) {
    const int len = int(r.end - r.begin);
    gemm(false, false, n, D, len, sc.scale, P + r.col, W, t.key(t.k, r), t.kv_stride, F(1),
         dq + t.i0 * t.q_stride, t.q_stride);
    gemm(true, false, len, D, n, sc.scale, P + r.col, W, t.q + t.i0 * t.q_stride, t.q_stride, F(1),
         dk + r.begin * t.kv_stride, t.kv_stride);
  }
}
}  // namespace

template <typename S, typename F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const S* out, const F* lse, const S* q, const S* k,
                        const S* v, const int32_t* lengths, const AttentionShape& s, const AttentionMask& mask) {
  check_shape(s);
  const int64_t B = s.batch, T = s.seq, H = s.heads, G = s.kv_heads, D = s.head_dim, group = H / G;
  const int stride = int(D);
  const Scoring<F> sc = scoring<F>(s);
  const F *qh = gather_heads<F>(0, q, B, T, H, D), *kh = gather_heads<F>(1, k, B, T, G, D);
  const F *vh = gather_heads<F>(2, v, B, T, G, D), *oh = gather_heads<F>(3, out, B, T, H, D);
  const F* dout_h = gather_heads<F>(4, dout, B, T, H, D);
  F* dqh = zero_heads<F>(5, B, T, H, D);
  F* dkh = zero_heads<F>(6, B, T, G, D);
  F* dvh = zero_heads<F>(7, B, T, G, D);
#pragma omp parallel
  {
    F* P = block_scratch<F>(0, T);
    F* dP = block_scratch<F>(1, T);
    F* slope = sc.cap > 0 ? block_scratch<F>(2, T) : nullptr;
    std::vector<KeyRun> runs;
    // One task per (sequence, kv head) owns that head's dk/dv rows and its query heads' dq rows: no gradient row
    // has two writers, and each is summed in a fixed order, so results are bit-identical run to run.
#pragma omp for collapse(2) schedule(dynamic)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t g = 0; g < G; ++g) {
        const int64_t L = lengths[b], kv_off = (b * G + g) * T * D;
        for (int64_t i0 = 0; i0 < L; i0 += kRowBlock) {
          const int64_t i1 = std::min(i0 + kRowBlock, L);
          const int width = int(visible_runs(mask, sc.window, b * T, i0, i1, runs));  // shared by the group's heads
          for (int64_t h = g * group; h < (g + 1) * group; ++h) {
            const int64_t off = (b * H + h) * T * D;
            const Tile<F> t{qh + off, kh + kv_off, vh + kv_off, stride, stride, int(D), i0, i1, b * T, runs, width};
            backward_block(dqh + off, dkh + kv_off, dvh + kv_off, dout_h + off, oh + off, lse + (b * H + h) * T,
                           P, dP, slope, t, mask, sc);
          }
        }
      }
  }
  scatter_heads(dq, dqh, B, T, H, D, true);  // backward ops add into their gradient outputs
  scatter_heads(dk, dkh, B, T, G, D, true);
  scatter_heads(dv, dvh, B, T, G, D, true);
}

#define TANDEM_INSTANTIATE(S)                                                                                   \
  template void attention_forward<S>(S*, compute_t<S>*, const S*, const S*, const S*, const int32_t*,              \
                                     const AttentionShape&, const AttentionMask&);                                \
  template void attention_backward<S>(compute_t<S>*, compute_t<S>*, compute_t<S>*, const compute_t<S>*, const S*, \
                                      const compute_t<S>*, const S*, const S*, const S*, const int32_t*,          \
                                      const AttentionShape&, const AttentionMask&);
TANDEM_INSTANTIATE(float)
TANDEM_INSTANTIATE(double)
TANDEM_INSTANTIATE(bf16)
#undef TANDEM_INSTANTIATE

}  // namespace tandem
