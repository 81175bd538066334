// Every kernel's backward against central finite differences of its forward, in double precision.
// Loss for an op with output y is sum(r * y) with fixed random r, so dL/dy = r.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/kernels/activation.h"
#include "backends/cpu/kernels/attention.h"
#include "backends/cpu/kernels/embedding.h"
#include "backends/cpu/kernels/layernorm.h"
#include "backends/cpu/kernels/linear.h"
#include "backends/cpu/kernels/logprobs.h"
#include "backends/cpu/kernels/rmsnorm.h"
#include "backends/cpu/kernels/rope.h"
#include "gradcheck.h"
#include "model/rope_table.h"

namespace tandem {
namespace {

using testing::dot;
using testing::expect_gradient;
using testing::random_vector;
using Vec = std::vector<double>;

TEST(GradCheck, Embedding) {
  Rng rng(1);
  const int64_t n = 7, dim = 5, vocab = 4;
  const std::vector<int32_t> ids = {0, 3, 3, 1, 0, 2, 3};  // repeated ids must accumulate
  Vec table = random_vector(rng, vocab * dim), r = random_vector(rng, n * dim), out(n * dim);
  auto loss = [&] {
    embedding_forward(out.data(), ids.data(), table.data(), n, dim);
    return dot(out, r);
  };
  Vec dtable(table.size(), 0.0);
  embedding_backward(dtable.data(), ids.data(), r.data(), n, dim);
  expect_gradient("table", table, dtable, loss);
}

TEST(GradCheck, RmsNorm) {
  for (double offset : {0.0, 1.0}) {  // Llama's w, Gemma's (1 + w)
    Rng rng(2);
    const int64_t rows = 4, dim = 6;
    Vec x = random_vector(rng, rows * dim), w = random_vector(rng, dim), r = random_vector(rng, rows * dim);
    Vec out(rows * dim), rstd(rows);
    auto loss = [&] {
      rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), rows, dim, 1e-5, offset);
      return dot(out, r);
    };
    loss();
    Vec dx(x.size(), 0.0), dw(w.size(), 0.0);
    rmsnorm_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), rows, dim, offset);
    expect_gradient("x(offset " + std::to_string(offset) + ")", x, dx, loss);
    expect_gradient("weight(offset " + std::to_string(offset) + ")", w, dw, loss);
  }
}

TEST(GradCheck, LayerNormWithAndWithoutBias) {
  for (bool with_bias : {true, false}) {
    Rng rng(12);
    const int64_t rows = 4, dim = 7;
    // An offset mean: the mean's own gradient path is exercised, not just the variance's.
    Vec x = random_vector(rng, rows * dim), w = random_vector(rng, dim), b = random_vector(rng, dim);
    for (double& v : x) v += 1.5;
    Vec r = random_vector(rng, rows * dim), out(rows * dim), mean(rows), rstd(rows);
    auto loss = [&] {
      layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), with_bias ? b.data() : nullptr,
                        rows, dim, 1e-5);
      return dot(out, r);
    };
    loss();
    Vec dx(x.size(), 0.0), dw(w.size(), 0.0), db(b.size(), 0.0);
    layernorm_backward(dx.data(), dw.data(), with_bias ? db.data() : nullptr, r.data(), x.data(), w.data(),
                       mean.data(), rstd.data(), rows, dim);
    const std::string tag = with_bias ? "(bias)" : "(no bias)";
    expect_gradient("x" + tag, x, dx, loss);
    expect_gradient("weight" + tag, w, dw, loss);
    if (with_bias) expect_gradient("bias", b, db, loss);
    // A null dweight skips the weight gradient and leaves dx as it was.
    Vec dx_frozen(x.size(), 0.0);
    layernorm_backward(dx_frozen.data(), static_cast<double*>(nullptr), static_cast<double*>(nullptr), r.data(),
                       x.data(), w.data(), mean.data(), rstd.data(), rows, dim);
    for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx_frozen[i], dx[i], 1e-12);
  }
}

TEST(GradCheck, Linear) {
  Rng rng(3);
  const int64_t n = 5, in = 4, outd = 3;
  Vec x = random_vector(rng, n * in), w = random_vector(rng, outd * in), b = random_vector(rng, outd);
  Vec r = random_vector(rng, n * outd), y(n * outd);
  auto loss = [&] {
    linear_forward(y.data(), x.data(), w.data(), b.data(), n, in, outd);
    return dot(y, r);
  };
  Vec dx(x.size(), 0.0), dw(w.size(), 0.0), db(b.size(), 0.0);
  linear_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), n, in, outd);
  expect_gradient("x", x, dx, loss);
  expect_gradient("weight", w, dw, loss);
  expect_gradient("bias", b, db, loss);
}

constexpr Activation kActivations[] = {Activation::kSilu, Activation::kGelu, Activation::kGeluTanh};

TEST(GradCheck, GatedActivations) {
  for (Activation act : kActivations) {
    Rng rng(4);
    const int64_t n = 12;
    Vec gate = random_vector(rng, n, 2.0), up = random_vector(rng, n), r = random_vector(rng, n), out(n);
    auto loss = [&] {
      glu_forward(out.data(), gate.data(), up.data(), n, act);
      return dot(out, r);
    };
    Vec dgate(n, 0.0), dup(n, 0.0);
    glu_backward(dgate.data(), dup.data(), r.data(), gate.data(), up.data(), n, act);
    expect_gradient(std::string("gate(") + activation_name(act) + ")", gate, dgate, loss);
    expect_gradient(std::string("up(") + activation_name(act) + ")", up, dup, loss);
  }
}

TEST(GradCheck, PlainActivations) {
  for (Activation act : kActivations) {
    Rng rng(13);
    const int64_t n = 15;
    Vec x = random_vector(rng, n, 2.5), r = random_vector(rng, n), out(n);
    auto loss = [&] {
      activation_forward(out.data(), x.data(), n, act);
      return dot(out, r);
    };
    Vec dx(n, 0.0);
    activation_backward(dx.data(), r.data(), x.data(), n, act);
    expect_gradient(std::string("x(") + activation_name(act) + ")", x, dx, loss);
  }
}

TEST(GradCheck, RopeDefaultAndLlama3) {
  RopeScaling llama3;
  llama3.type = "llama3";
  llama3.factor = 8;
  llama3.low_freq_factor = 1;
  llama3.high_freq_factor = 4;
  llama3.original_max_position_embeddings = 16;  // small, so all three frequency bands occur at head_dim 16
  for (const RopeScaling& scaling : {RopeScaling{}, llama3}) {
    Rng rng(5);
    const int64_t B = 2, T = 5, H = 3, D = 16;
    const RopeTable t = rope_table(T, D, 10000.0, scaling);
    const RopeView table{t.cos.data(), t.sin.data(), t.positions, t.half};
    Vec x = random_vector(rng, B * T * H * D), r = random_vector(rng, x.size()), y;
    auto loss = [&] {
      y = x;
      rope_forward(y.data(), table, B, T, H, D);
      return dot(y, r);
    };
    Vec dx = r;
    rope_backward(dx.data(), table, B, T, H, D);
    expect_gradient("x(" + scaling.type + ")", x, dx, loss);
  }
}

// Partial rotary (GPT-NeoX rotary_pct 0.25 / 0.5, Phi-3): a table for 4 or 8 of 16 dims; the rest pass through.
TEST(GradCheck, PartialRope) {
  for (int64_t rotary_dims : {4, 8}) {
    Rng rng(14);
    const int64_t B = 2, T = 5, H = 3, D = 16;
    const RopeTable t = rope_table(T, rotary_dims, 10000.0, {});
    const RopeView table{t.cos.data(), t.sin.data(), t.positions, t.half};
    const std::vector<int32_t> positions = {0, 1, 2, 3, 4, 0, 1, 2, 0, 1};  // packed rows restart positions
    Vec x = random_vector(rng, B * T * H * D), r = random_vector(rng, x.size()), y;
    auto loss = [&] {
      y = x;
      rope_forward(y.data(), table, B, T, H, D, positions.data());
      return dot(y, r);
    };
    loss();
    for (size_t row = 0; row < x.size() / D; ++row)  // the unrotated dims are untouched
      for (int64_t i = rotary_dims; i < D; ++i) EXPECT_EQ(y[row * D + i], x[row * D + i]);
    Vec dx = r;
    rope_backward(dx.data(), table, B, T, H, D, positions.data());
    expect_gradient("x(rotary " + std::to_string(rotary_dims) + ")", x, dx, loss);
    // The inverse rotation undoes the forward, up to the f32 table's cos^2 + sin^2 = 1 +- a few 2^-24 (1e-6 at
    // |x| <= 5).
    loss();
    Vec back = y;
    rope_backward(back.data(), table, B, T, H, D, positions.data());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(back[i], x[i], 1e-6);
  }
}

TEST(GradCheck, CausalGroupedAttentionWithPadding) {
  Rng rng(6);
  const AttentionShape s{2, 6, 4, 2, 3};  // 4 query heads share 2 kv heads
  const std::vector<int32_t> lengths = {6, 4};  // second sequence has 2 padding rows
  const int64_t qn = s.batch * s.seq * s.heads * s.head_dim, kvn = s.batch * s.seq * s.kv_heads * s.head_dim;
  Vec q = random_vector(rng, qn), k = random_vector(rng, kvn), v = random_vector(rng, kvn);
  Vec r = random_vector(rng, qn), out(qn), lse(s.batch * s.heads * s.seq);
  auto loss = [&] {
    attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), lengths.data(), s);
    return dot(out, r);
  };
  loss();
  Vec dq(qn, 0.0), dk(kvn, 0.0), dv(kvn, 0.0);
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), out.data(), lse.data(), q.data(), k.data(), v.data(),
                     lengths.data(), s);
  expect_gradient("q", q, dq, loss);
  expect_gradient("k", k, dk, loss);
  expect_gradient("v", v, dv, loss);
  // Padding rows produce zeros and receive no gradient.
  for (int64_t t = 4; t < 6; ++t)
    for (int64_t i = 0; i < s.heads * s.head_dim; ++i) {
      EXPECT_EQ(out[((1 * s.seq) + t) * s.heads * s.head_dim + i], 0.0);
      EXPECT_EQ(dq[((1 * s.seq) + t) * s.heads * s.head_dim + i], 0.0);
    }
}

// The fused LM head on scored pairs: the x and w gradients by finite differences, and the fused pass's log-probs
// equal to the forward's. Returns the inputs and the forward's log-probs for further checks.
struct LogprobCase {
  Vec x, w, logp, dx;
};
LogprobCase check_token_logprobs(const LogprobShape& s, const std::vector<int32_t>& rows,
                                 const std::vector<int32_t>& targets, uint64_t seed, const std::string& label) {
  Rng rng(seed);
  const ScoredPairs pairs{rows.data(), targets.data(), int64_t(rows.size())};
  LogprobCase c{random_vector(rng, s.rows * s.dim), random_vector(rng, s.vocab * s.dim), Vec(rows.size()), {}};
  Vec g = random_vector(rng, rows.size());
  auto loss = [&] {
    token_logprobs_forward(c.logp.data(), c.x.data(), c.w.data(), pairs, s);
    return dot(c.logp, g);
  };
  const double value = loss();
  Vec dw(c.w.size(), 0.0), logp_fused(rows.size(), -1.0);
  c.dx.assign(c.x.size(), 0.0);
  token_logprobs_backward(c.dx.data(), dw.data(), g.data(), c.x.data(), c.w.data(), pairs, s, logp_fused.data());
  expect_gradient("x" + label, c.x, c.dx, loss);
  expect_gradient("w" + label, c.w, dw, loss);
  EXPECT_NEAR(dot(logp_fused, g), value, 1e-12) << "the fused pass's log-probs" << label;
  loss();  // logp as of the unperturbed inputs
  return c;
}

TEST(GradCheck, TokenLogprobsChunked) {
  const LogprobShape s{9, 4, 11, 2};  // 2-pair chunks over 8 pairs: several chunks
  // Row 2 is scored twice (a shared prompt's last position predicts two answers); rows 1 and 5 not at all.
  const LogprobCase c = check_token_logprobs(s, {0, 2, 2, 3, 4, 6, 7, 8}, {3, 0, 9, 10, 5, 7, 7, 1}, 7, "");
  for (int64_t d = 0; d < s.dim; ++d) EXPECT_EQ(c.dx[1 * s.dim + d], 0.0);  // unscored rows get no gradient
  for (double lp : c.logp) EXPECT_LE(lp, 0.0);
  EXPECT_NE(c.logp[1], c.logp[2]);  // same row, different targets
}

TEST(GradCheck, TokenLogprobsChunkSizeDoesNotChangeResults) {
  Rng rng(8);
  const int64_t rows = 37, dim = 8, vocab = 50;
  std::vector<float> x(rows * dim), w(vocab * dim);
  for (auto& v : x) v = float(rng.normal());
  for (auto& v : w) v = float(rng.normal());
  std::vector<int32_t> row_index(rows), targets(rows);
  for (int64_t r = 0; r < rows; ++r) {
    row_index[r] = int32_t(r);
    targets[r] = int32_t(rng.below(vocab));
  }
  const ScoredPairs pairs{row_index.data(), targets.data(), rows};
  std::vector<float> ref(rows), got(rows);
  token_logprobs_forward(ref.data(), x.data(), w.data(), pairs, LogprobShape{rows, dim, vocab, rows});
  for (int64_t chunk : {1, 5, 16}) {
    token_logprobs_forward(got.data(), x.data(), w.data(), pairs, LogprobShape{rows, dim, vocab, chunk});
    for (int64_t r = 0; r < rows; ++r) EXPECT_NEAR(got[r], ref[r], 1e-5f) << "chunk " << chunk << " row " << r;
  }
}

// Attention's q, k and v gradients by finite differences on random inputs (q and k times qk_scale), for the loss
// <out, r>. Returns the inputs and the forward's output for further checks.
struct AttentionCase {
  Vec q, k, v, out;
};
AttentionCase check_attention_gradients(const std::string& what, const AttentionShape& s,
                                        const std::vector<int32_t>& lengths, const AttentionMask& mask, uint64_t seed,
                                        double qk_scale) {
  Rng rng(seed);
  const int64_t qn = s.batch * s.seq * s.heads * s.head_dim, kvn = s.batch * s.seq * s.kv_heads * s.head_dim;
  AttentionCase c{random_vector(rng, qn, qk_scale), random_vector(rng, kvn, qk_scale), random_vector(rng, kvn), Vec(qn)};
  Vec r = random_vector(rng, qn), lse(s.batch * s.heads * s.seq);
  auto loss = [&] {
    attention_forward(c.out.data(), lse.data(), c.q.data(), c.k.data(), c.v.data(), lengths.data(), s, mask);
    return dot(c.out, r);
  };
  loss();
  Vec dq(qn, 0.0), dk(kvn, 0.0), dv(kvn, 0.0);
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), c.out.data(), lse.data(), c.q.data(), c.k.data(),
                     c.v.data(), lengths.data(), s, mask);
  expect_gradient("q" + what, c.q, dq, loss);
  expect_gradient("k" + what, c.k, dk, loss);
  expect_gradient("v" + what, c.v, dv, loss);
  loss();  // out as of the unperturbed inputs
  return c;
}

TEST(GradCheck, AttentionWithSegmentsAndSharedPrefix) {
  // Row 0: two packed segments [0, 3) and [3, 7). Row 1: prompt [0, 2), branch A [2, 4), branch B [4, 7) that
  // sees the prompt but not branch A.
  const AttentionShape s{2, 7, 2, 1, 3};
  const std::vector<int32_t> lengths = {7, 7};
  const std::vector<int32_t> seg = {0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0, 4, 4, 4};
  const std::vector<int32_t> pre = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2};
  const AttentionMask mask{seg.data(), pre.data()};
  AttentionCase c = check_attention_gradients("", s, lengths, mask, 9, 1.0);
  // Masked keys do not influence a row: changing branch A's values leaves branch B's outputs unchanged.
  const Vec before = c.out;
  for (int64_t t = 2; t < 4; ++t)
    for (int64_t d = 0; d < s.head_dim; ++d) c.v[((1 * s.seq) + t) * s.head_dim + d] += 5.0;
  Vec lse(s.batch * s.heads * s.seq);
  attention_forward(c.out.data(), lse.data(), c.q.data(), c.k.data(), c.v.data(), lengths.data(), s, mask);
  for (int64_t t = 4; t < 7; ++t)
    for (int64_t i = 0; i < s.heads * s.head_dim; ++i)
      EXPECT_EQ(c.out[((1 * s.seq) + t) * s.heads * s.head_dim + i], before[((1 * s.seq) + t) * s.heads * s.head_dim + i]);
}

// Attention with each scoring option (AttentionScoring): a custom scale, a soft cap, a sliding window that bites
// (window < seq), and the window together with packed segments and a shared prefix. Inputs of scale 2, so that a
// soft cap of 1.5 bends the scores well away from its linear range.
void check_attention_scoring(const std::string& what, const AttentionShape& s, const std::vector<int32_t>& lengths,
                             const AttentionMask& mask, uint64_t seed) {
  check_attention_gradients(what, s, lengths, mask, seed, 2.0);
}

TEST(GradCheck, AttentionScoring) {
  const std::vector<int32_t> lengths = {7, 5};
  AttentionShape s{2, 7, 4, 2, 3};
  s.scoring.scale = 0.3;
  check_attention_scoring("(scale)", s, lengths, {}, 15);
  s.scoring = {0, 1.5, 0};
  check_attention_scoring("(softcap)", s, lengths, {}, 16);
  s.scoring = {0, 0, 3};
  check_attention_scoring("(window)", s, lengths, {}, 17);
  s.scoring = {0.4, 1.5, 2};
  check_attention_scoring("(all)", s, lengths, {}, 18);
}

TEST(GradCheck, AttentionWindowWithSegmentsAndSharedPrefix) {
  // As AttentionWithSegmentsAndSharedPrefix, with a window of 3: the segment's start and the window both cut.
  const AttentionShape s{2, 7, 2, 1, 3, {0, 0, 3}};
  const std::vector<int32_t> seg = {0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0, 4, 4, 4};
  const std::vector<int32_t> pre = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2};
  check_attention_scoring("(window+packing)", s, {7, 7}, {seg.data(), pre.data()}, 19);
  check_attention_scoring("(window+packing+softcap)", {2, 7, 2, 1, 3, {0, 1.5, 3}}, {7, 6},
                          {seg.data(), pre.data()}, 20);
}

TEST(GradCheck, TokenLogprobsSoftcap) {
  LogprobShape s{6, 4, 9, 2};
  s.softcap = 2.0;  // logits of scale ~2-3 (x, w ~ N(0, 1), dim 4): the cap bends them
  const std::vector<int32_t> rows = {0, 2, 2, 3, 5}, targets = {3, 0, 8, 4, 1};
  const LogprobCase c = check_token_logprobs(s, rows, targets, 21, "(softcap)");
  // Against the definition: log_softmax(cap * tanh(x w^T / cap)) at the target.
  for (size_t k = 0; k < rows.size(); ++k) {
    std::vector<double> z(size_t(s.vocab));
    double mx = -1e300;
    for (int64_t j = 0; j < s.vocab; ++j) {
      double d = 0;
      for (int64_t e = 0; e < s.dim; ++e) d += c.x[rows[k] * s.dim + e] * c.w[j * s.dim + e];
      z[size_t(j)] = s.softcap * std::tanh(d / s.softcap);
      mx = std::max(mx, z[size_t(j)]);
    }
    double sum = 0;
    for (double zj : z) sum += std::exp(zj - mx);
    EXPECT_NEAR(c.logp[k], z[size_t(targets[k])] - mx - std::log(sum), 1e-12) << "pair " << k;
  }
}

}  // namespace
}  // namespace tandem
