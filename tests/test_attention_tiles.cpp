// The tiled attention kernel (blocks of R = kAttentionRowBlock query rows, tiles of K = kAttentionKeyTile keys; the
// cases are written in R and K so that they stay at the edges) at the edges of its tile logic: a sequence length
// that is not a multiple of the block, segments that start mid-block, a shared prefix that spans blocks, key tiles
// that no row of a block sees, blocks that are all padding, T = 1. Checked by finite differences (double), against a
// dense O(T^2) reference written from the definition, float against double, and for run-to-run determinism.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/kernels/attention.h"
#include "gradcheck.h"

namespace tandem {
namespace {

using testing::dot;
using testing::expect_gradient;
using testing::random_vector;
using Vec = std::vector<double>;

// Shape, lengths and (optionally) the packing/prefix structure of one batch.
struct Case {
  AttentionShape s;
  std::vector<int32_t> lengths, seg, pre;  // seg/pre empty: plain causal

  int64_t qn() const { return s.batch * s.seq * s.heads * s.head_dim; }
  int64_t kvn() const { return s.batch * s.seq * s.kv_heads * s.head_dim; }
  int64_t lse_n() const { return s.batch * s.heads * s.seq; }
  AttentionMask mask() const { return {seg.empty() ? nullptr : seg.data(), pre.empty() ? nullptr : pre.data()}; }
  void structured() {
    if (seg.empty()) seg.assign(size_t(s.batch * s.seq), 0), pre.assign(size_t(s.batch * s.seq), 0);
  }
  // Row b packs examples starting at `starts` (ascending, the first 0).
  void pack(int64_t b, const std::vector<int32_t>& starts) {
    structured();
    for (int64_t t = 0; t < s.seq; ++t)
      seg[size_t(b * s.seq + t)] = *std::prev(std::upper_bound(starts.begin(), starts.end(), int32_t(t)));
  }
  // Row b holds a prompt [0, prompt), a chosen branch [prompt, split) and a rejected one from split on that sees
  // the prompt but not the chosen branch.
  void share_prefix(int64_t b, int32_t prompt, int32_t split) {
    structured();
    for (int64_t t = split; t < s.seq; ++t) seg[size_t(b * s.seq + t)] = split, pre[size_t(b * s.seq + t)] = prompt;
  }
};

// Forward and backward results of one case.
template <typename F>
struct Result {
  std::vector<F> out, lse, dq, dk, dv;
};

template <typename F>
Result<F> run_kernel(const Case& c, const std::vector<F>& q, const std::vector<F>& k, const std::vector<F>& v,
                     const std::vector<F>& dout) {
  Result<F> r{std::vector<F>(c.qn()), std::vector<F>(c.lse_n()), std::vector<F>(c.qn(), F(0)),
              std::vector<F>(c.kvn(), F(0)), std::vector<F>(c.kvn(), F(0))};
  attention_forward(r.out.data(), r.lse.data(), q.data(), k.data(), v.data(), c.lengths.data(), c.s, c.mask());
  attention_backward(r.dq.data(), r.dk.data(), r.dv.data(), dout.data(), r.out.data(), r.lse.data(), q.data(), k.data(),
                     v.data(), c.lengths.data(), c.s, c.mask());
  return r;
}

// Attention straight from the definition, one query row at a time over all T keys; dS uses sum_j P_ij dP_ij
// directly rather than the kernel's dO . O identity. Honours c.s.scoring: scores cap * tanh(scale q.k / cap) (dZ =
// dS (1 - tanh^2)), keys j with i - j >= window hidden.
Result<double> dense_attention(const Case& c, const Vec& q, const Vec& k, const Vec& v, const Vec& dout) {
  const int64_t T = c.s.seq, H = c.s.heads, G = c.s.kv_heads, D = c.s.head_dim, window = c.s.scoring.window;
  const double scale = c.s.scoring.scale > 0 ? c.s.scoring.scale : 1.0 / std::sqrt(double(D));
  const double cap = c.s.scoring.softcap;
  Result<double> r{Vec(c.qn(), 0.0), Vec(c.lse_n(), 0.0), Vec(c.qn(), 0.0), Vec(c.kvn(), 0.0), Vec(c.kvn(), 0.0)};
  for (int64_t b = 0; b < c.s.batch; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < c.lengths[b]; ++i) {
        const int64_t qi = ((b * T + i) * H + h) * D, lo = c.seg.empty() ? 0 : c.seg[b * T + i],
                      pre = c.pre.empty() ? 0 : c.pre[b * T + i];
        auto kv = [&](int64_t j) { return ((b * T + j) * G + h / (H / G)) * D; };
        auto seen = [&](int64_t j) { return (j >= lo || j < pre) && (window == 0 || i - j < window); };
        Vec p(T, 0.0), dp(T, 0.0), slope(T, 1.0);
        double mx = -std::numeric_limits<double>::infinity(), sum = 0, rowdot = 0;
        for (int64_t j = 0; j <= i; ++j)
          if (seen(j)) {
            for (int64_t d = 0; d < D; ++d) p[j] += scale * q[qi + d] * k[kv(j) + d];
            if (cap > 0) p[j] = cap * std::tanh(p[j] / cap), slope[j] = 1 - (p[j] / cap) * (p[j] / cap);
            mx = std::max(mx, p[j]);
          }
        for (int64_t j = 0; j <= i; ++j) sum += seen(j) ? std::exp(p[j] - mx) : 0.0;
        for (int64_t j = 0; j <= i; ++j) p[j] = seen(j) ? std::exp(p[j] - mx) / sum : 0.0;
        r.lse[(b * H + h) * T + i] = mx + std::log(sum);
        for (int64_t j = 0; j <= i; ++j)
          for (int64_t d = 0; d < D; ++d) {
            r.out[qi + d] += p[j] * v[kv(j) + d];
            dp[j] += dout[qi + d] * v[kv(j) + d];
          }
        for (int64_t j = 0; j <= i; ++j) rowdot += p[j] * dp[j];
        for (int64_t j = 0; j <= i; ++j)
          for (int64_t d = 0; d < D; ++d) {
            const double ds = p[j] * (dp[j] - rowdot) * slope[j];
            r.dv[kv(j) + d] += p[j] * dout[qi + d];
            r.dq[qi + d] += scale * ds * k[kv(j) + d];
            r.dk[kv(j) + d] += scale * ds * q[qi + d];
          }
      }
  return r;
}

// Finite-difference check of all three gradients; padding rows have zero output and lse and get no gradient.
// The thousands of forward calls run on one thread: on a loaded machine, waking a team per call dominates. The
// parallel schedule is covered by the dense-reference, float-vs-double and determinism tests.
void expect_tiled_gradients(const Case& c, uint64_t seed) {
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(1);
  Rng rng(seed);
  Vec q = random_vector(rng, c.qn()), k = random_vector(rng, c.kvn()), v = random_vector(rng, c.kvn());
  Vec r = random_vector(rng, c.qn()), out(c.qn()), lse(c.lse_n());
  auto loss = [&] {
    attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), c.lengths.data(), c.s, c.mask());
    return dot(out, r);
  };
  const Result<double> g = run_kernel(c, q, k, v, r);
  expect_gradient("q", q, g.dq, loss);
  expect_gradient("k", k, g.dk, loss);
  expect_gradient("v", v, g.dv, loss);
  const int64_t T = c.s.seq, H = c.s.heads, G = c.s.kv_heads, D = c.s.head_dim;
  for (int64_t b = 0; b < c.s.batch; ++b)
    for (int64_t t = c.lengths[b]; t < T; ++t) {
      for (int64_t i = 0; i < H * D; ++i) {
        EXPECT_EQ(g.out[(b * T + t) * H * D + i], 0.0) << "b " << b << " t " << t;
        EXPECT_EQ(g.dq[(b * T + t) * H * D + i], 0.0) << "b " << b << " t " << t;
      }
      for (int64_t i = 0; i < G * D; ++i) {
        EXPECT_EQ(g.dk[(b * T + t) * G * D + i], 0.0) << "b " << b << " t " << t;
        EXPECT_EQ(g.dv[(b * T + t) * G * D + i], 0.0) << "b " << b << " t " << t;
      }
      for (int64_t h = 0; h < H; ++h) EXPECT_EQ(g.lse[(b * H + h) * T + t], 0.0);
    }
  omp_set_num_threads(saved_threads);
}

double max_abs_diff(const Vec& a, const Vec& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

double max_abs(const Vec& a) {
  double m = 0;
  for (double x : a) m = std::max(m, std::abs(x));
  return m;
}

constexpr int32_t R = int32_t(kAttentionRowBlock), K = int32_t(kAttentionKeyTile);
static_assert(R % K == 0 && R >= 2 * K && K >= 32, "the cases below assume whole tiles per block, two or more");

// T = 2R + 44 (two whole blocks and a ragged one), GQA, three rows: packed examples starting mid-block and on a
// block boundary; a prompt spanning blocks 0-1 shared by two branches, then padding; a short plain row whose last
// blocks are all padding.
Case long_case(int64_t head_dim) {
  const int32_t T = 2 * R + 44;
  Case c{{3, T, 4, 2, head_dim}, {T, T - 20, R + 1}, {}, {}};
  c.pack(0, {0, 37, R, R + 86, 2 * R - 5});
  c.share_prefix(1, R + 26, 2 * R - 56);
  return c;
}

TEST(AttentionTiles, RaggedLastBlockAndAllPaddingBlocks) {
  // T = 2R + 12: blocks [0, R), [R, 2R), [2R, 2R + 12). Row 1 has R - 4 real tokens: its blocks 1 and 2 are all
  // padding.
  expect_tiled_gradients(Case{{2, 2 * R + 12, 2, 1, 2}, {2 * R + 12, R - 4}, {}, {}}, 21);
}

TEST(AttentionTiles, SegmentsStartingMidBlockAndPrefixAcrossBlocks) {
  // Row 0: examples from 0, 40 and R + 5 (mid-block). Row 1: prompt [0, R + 6) across blocks 0-1, chosen
  // [R + 6, R + 14), rejected [R + 14, R + 22), then padding inside the last block.
  Case c{{2, R + 24, 2, 1, 2}, {R + 24, R + 22}, {}, {}};
  c.pack(0, {0, 40, R + 5});
  c.share_prefix(1, R + 6, R + 14);
  expect_tiled_gradients(c, 22);
}

TEST(AttentionTiles, KeyTilesNoRowOfABlockSees) {
  // T = 3R + 16. Row 0: examples [0, R + 12) and [R + 12, T): block 2 sees no key of tiles [0, K) and [K, 2K).
  // Row 1: prompt [0, 30), chosen [30, 2R + 4), rejected [2R + 4, T): block 3 (rows 3R .. T-1) sees keys [0, K)
  // and from the tile of 2R + 4 on, skipping the tiles between.
  const int32_t T = 3 * R + 16;
  Case c{{2, T, 1, 1, 2}, {T, T}, {}, {}};
  c.pack(0, {0, R + 12});
  c.share_prefix(1, 30, 2 * R + 4);
  expect_tiled_gradients(c, 23);
  // Keys in a skipped tile do not move those rows' outputs by a single bit.
  Rng rng(24);
  Vec q = random_vector(rng, c.qn()), k = random_vector(rng, c.kvn()), v = random_vector(rng, c.kvn());
  const Vec zero(c.qn(), 0.0);
  const Result<double> before = run_kernel(c, q, k, v, zero);
  for (int32_t j = K; j < 2 * K; ++j) k[size_t(T + j) * 2] += 3.0, v[size_t(T + j) * 2 + 1] -= 5.0;
  const Result<double> after = run_kernel(c, q, k, v, zero);
  for (int64_t i = 3 * R * 2; i < T * 2; ++i) EXPECT_EQ(after.out[size_t(T * 2 + i)], before.out[size_t(T * 2 + i)]);
}

TEST(AttentionTiles, SingleToken) {
  const Case c{{2, 1, 2, 1, 3}, {1, 1}, {}, {}};
  expect_tiled_gradients(c, 25);
  Rng rng(26);
  const Vec q = random_vector(rng, c.qn()), k = random_vector(rng, c.kvn()), v = random_vector(rng, c.kvn());
  const Result<double> r = run_kernel(c, q, k, v, Vec(c.qn(), 1.0));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t d = 0; d < 3; ++d) EXPECT_EQ(r.out[(b * 2 + h) * 3 + d], v[b * 3 + d]);  // softmax of one key
  for (double g : r.dq) EXPECT_NEAR(g, 0.0, 1e-14);  // dS = P (dP - dO . O) = 1 (dO . v - dO . v)
}

TEST(AttentionTiles, MatchesDenseReference) {
  const Case c = long_case(8);
  Rng rng(27);
  const Vec q = random_vector(rng, c.qn()), k = random_vector(rng, c.kvn()), v = random_vector(rng, c.kvn());
  const Vec dout = random_vector(rng, c.qn());
  const Result<double> got = run_kernel(c, q, k, v, dout), want = dense_attention(c, q, k, v, dout);
  // Same arithmetic in a different order: double rounding only (values are O(1)).
  EXPECT_LE(max_abs_diff(got.out, want.out), 1e-12);
  EXPECT_LE(max_abs_diff(got.lse, want.lse), 1e-12);
  EXPECT_LE(max_abs_diff(got.dq, want.dq), 1e-12);
  EXPECT_LE(max_abs_diff(got.dk, want.dk), 1e-12);
  EXPECT_LE(max_abs_diff(got.dv, want.dv), 1e-12);
}

// Gemma-2's scoring on the long case: a window of K + 2 (a block's first row R sees key R - K - 1, the last of its
// tile, alone: skipping that tile by one key too many changes the output), and one of 2R - 30 that spans blocks,
// with a scale and a soft cap.
TEST(AttentionTiles, ScoredMatchesDenseReference) {
  for (const AttentionScoring& sc : {AttentionScoring{0.3, 2.0, K + 2}, AttentionScoring{0, 1.5, 2 * R - 30},
                                     AttentionScoring{0.2, 0, K + 2}}) {
    Case c = long_case(8);
    c.s.scoring = sc;
    Rng rng(30);
    const Vec q = random_vector(rng, c.qn(), 2.0), k = random_vector(rng, c.kvn(), 2.0),
              v = random_vector(rng, c.kvn());
    const Vec dout = random_vector(rng, c.qn());
    const Result<double> got = run_kernel(c, q, k, v, dout), want = dense_attention(c, q, k, v, dout);
    const std::string what = "window " + std::to_string(sc.window) + " cap " + std::to_string(sc.softcap);
    EXPECT_LE(max_abs_diff(got.out, want.out), 1e-12) << what;
    EXPECT_LE(max_abs_diff(got.lse, want.lse), 1e-12) << what;
    EXPECT_LE(max_abs_diff(got.dq, want.dq), 1e-12) << what;
    EXPECT_LE(max_abs_diff(got.dk, want.dk), 1e-12) << what;
    EXPECT_LE(max_abs_diff(got.dv, want.dv), 1e-12) << what;
  }
}

TEST(AttentionTiles, FloatMatchesDouble) {
  const Case c = long_case(64);
  Rng rng(28);
  const Vec q = random_vector(rng, c.qn()), k = random_vector(rng, c.kvn()), v = random_vector(rng, c.kvn());
  const Vec dout = random_vector(rng, c.qn());
  auto to_float = [](const Vec& x) { return std::vector<float>(x.begin(), x.end()); };
  const Result<double> want = run_kernel(c, q, k, v, dout);
  const Result<float> f = run_kernel(c, to_float(q), to_float(k), to_float(v), to_float(dout));
  auto widen = [](const std::vector<float>& x) { return Vec(x.begin(), x.end()); };
  // fp32 rounding over 64-term dot products and up to 300-term sums, plus exp_fast's ~2 ulp: observed errors are
  // <= 4e-7 of each tensor's largest magnitude. 5e-6 leaves a >10x margin and still catches any masking or tiling
  // mistake, which moves values by O(1).
  constexpr double kTol = 5e-6;
  EXPECT_LE(max_abs_diff(widen(f.out), want.out), kTol * max_abs(want.out));
  EXPECT_LE(max_abs_diff(widen(f.lse), want.lse), kTol * max_abs(want.lse));
  EXPECT_LE(max_abs_diff(widen(f.dq), want.dq), kTol * max_abs(want.dq));
  EXPECT_LE(max_abs_diff(widen(f.dk), want.dk), kTol * max_abs(want.dk));
  EXPECT_LE(max_abs_diff(widen(f.dv), want.dv), kTol * max_abs(want.dv));
}

TEST(AttentionTiles, BitIdenticalRunToRun) {
  const Case c = long_case(16);
  Rng rng(29);
  std::vector<float> q(c.qn()), k(c.kvn()), v(c.kvn()), dout(c.qn());
  for (auto* x : {&q, &k, &v, &dout})
    for (auto& e : *x) e = float(rng.normal());
  auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  };
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    const Result<float> a = run_kernel(c, q, k, v, dout), b = run_kernel(c, q, k, v, dout);
    EXPECT_TRUE(same(a.out, b.out) && same(a.lse, b.lse)) << threads << " threads";
    EXPECT_TRUE(same(a.dq, b.dq) && same(a.dk, b.dk) && same(a.dv, b.dv)) << threads << " threads";
  }
  omp_set_num_threads(saved);
}

}  // namespace
}  // namespace tandem
