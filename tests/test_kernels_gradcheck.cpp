// Every kernel's backward against central finite differences of its forward, in double precision.
// Loss for an op with output y is sum(r * y) with fixed random r, so dL/dy = r.
#include <vector>

#include "backends/cpu/kernels/attention.h"
#include "backends/cpu/kernels/embedding.h"
#include "backends/cpu/kernels/linear.h"
#include "backends/cpu/kernels/logprobs.h"
#include "backends/cpu/kernels/rmsnorm.h"
#include "backends/cpu/kernels/rope.h"
#include "backends/cpu/kernels/swiglu.h"
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
  Rng rng(2);
  const int64_t rows = 4, dim = 6;
  Vec x = random_vector(rng, rows * dim), w = random_vector(rng, dim), r = random_vector(rng, rows * dim);
  Vec out(rows * dim), rstd(rows);
  auto loss = [&] {
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), rows, dim, 1e-5);
    return dot(out, r);
  };
  loss();
  Vec dx(x.size(), 0.0), dw(w.size(), 0.0);
  rmsnorm_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), rows, dim);
  expect_gradient("x", x, dx, loss);
  expect_gradient("weight", w, dw, loss);
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

TEST(GradCheck, SwiGLU) {
  Rng rng(4);
  const int64_t n = 12;
  Vec gate = random_vector(rng, n, 2.0), up = random_vector(rng, n), r = random_vector(rng, n), out(n);
  auto loss = [&] {
    swiglu_forward(out.data(), gate.data(), up.data(), n);
    return dot(out, r);
  };
  Vec dgate(n, 0.0), dup(n, 0.0);
  swiglu_backward(dgate.data(), dup.data(), r.data(), gate.data(), up.data(), n);
  expect_gradient("gate", gate, dgate, loss);
  expect_gradient("up", up, dup, loss);
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

TEST(GradCheck, TokenLogprobsChunked) {
  Rng rng(7);
  const LogprobShape s{9, 4, 11, 2};  // 2-pair chunks over 8 pairs: several chunks
  // Row 2 is scored twice (a shared prompt's last position predicts two answers); rows 1 and 5 not at all.
  const std::vector<int32_t> rows = {0, 2, 2, 3, 4, 6, 7, 8};
  const std::vector<int32_t> targets = {3, 0, 9, 10, 5, 7, 7, 1};
  const ScoredPairs pairs{rows.data(), targets.data(), int64_t(rows.size())};
  Vec x = random_vector(rng, s.rows * s.dim), w = random_vector(rng, s.vocab * s.dim);
  Vec g = random_vector(rng, rows.size()), logp(rows.size());
  auto loss = [&] {
    token_logprobs_forward(logp.data(), x.data(), w.data(), pairs, s);
    return dot(logp, g);
  };
  const double value = loss();
  Vec dx(x.size(), 0.0), dw(w.size(), 0.0), logp_fused(rows.size(), -1.0);
  token_logprobs_backward(dx.data(), dw.data(), g.data(), x.data(), w.data(), pairs, s, logp_fused.data());
  expect_gradient("x", x, dx, loss);
  expect_gradient("w", w, dw, loss);
  // The fused pass reports the same log-probs; unscored rows get no gradient.
  EXPECT_NEAR(dot(logp_fused, g), value, 1e-12);
  for (int64_t d = 0; d < s.dim; ++d) EXPECT_EQ(dx[1 * s.dim + d], 0.0);
  for (double lp : logp) EXPECT_LE(lp, 0.0);
  EXPECT_NE(logp[1], logp[2]);  // same row, different targets
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

TEST(GradCheck, AttentionWithSegmentsAndSharedPrefix) {
  // Row 0: two packed segments [0, 3) and [3, 7). Row 1: prompt [0, 2), branch A [2, 4), branch B [4, 7) that
  // sees the prompt but not branch A.
  Rng rng(9);
  const AttentionShape s{2, 7, 2, 1, 3};
  const std::vector<int32_t> lengths = {7, 7};
  const std::vector<int32_t> seg = {0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0, 4, 4, 4};
  const std::vector<int32_t> pre = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2};
  const AttentionMask mask{seg.data(), pre.data()};
  const int64_t qn = s.batch * s.seq * s.heads * s.head_dim, kvn = s.batch * s.seq * s.kv_heads * s.head_dim;
  Vec q = random_vector(rng, qn), k = random_vector(rng, kvn), v = random_vector(rng, kvn);
  Vec r = random_vector(rng, qn), out(qn), lse(s.batch * s.heads * s.seq);
  auto loss = [&] {
    attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), lengths.data(), s, mask);
    return dot(out, r);
  };
  loss();
  Vec dq(qn, 0.0), dk(kvn, 0.0), dv(kvn, 0.0);
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), out.data(), lse.data(), q.data(), k.data(), v.data(),
                     lengths.data(), s, mask);
  expect_gradient("q", q, dq, loss);
  expect_gradient("k", k, dk, loss);
  expect_gradient("v", v, dv, loss);
  // Masked keys do not influence a row: changing branch A's values leaves branch B's outputs unchanged.
  loss();  // out as of the unperturbed inputs
  const Vec before = out;
  for (int64_t t = 2; t < 4; ++t)
    for (int64_t d = 0; d < s.head_dim; ++d) v[((1 * s.seq) + t) * s.head_dim + d] += 5.0;
  loss();
  for (int64_t t = 4; t < 7; ++t)
    for (int64_t i = 0; i < s.heads * s.head_dim; ++i)
      EXPECT_EQ(out[((1 * s.seq) + t) * s.heads * s.head_dim + i], before[((1 * s.seq) + t) * s.heads * s.head_dim + i]);
}

}  // namespace
}  // namespace tandem
