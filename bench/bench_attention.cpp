// Attention's share of a training step, old kernel against new, at a fixed number of tokens per step.
// For each B x T (default 4x512, 2x1024, 1x2048 of the d=512, 6-layer, 8-head bench model) it times, interleaved
// rep by rep: the baseline attention forward+backward (the pre-tiling kernel, copied below), the current one,
// and a full sft_train_step (which runs the current kernel); medians over --reps. Attention per step is
// layers x one forward+backward; the old step is estimated as step - new attention + old attention.
// A last row times attention alone on a packed row (segments of --segment tokens), where the tiles skip the most.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "backends/cpu/kernels/attention.h"
#include "bench_timing.h"
#include "cli/args.h"
#include "core/blas.h"
#include "core/check.h"
#include "core/fastmath.h"
#include "train/sft_step.h"

using namespace tandem;

namespace {
// ---- BASELINE: the attention kernel as it was before tiling (full L x L scores per (sequence, head), masked
// afterwards with scalar loops), copied verbatim apart from the names. Used only for comparison.
struct OldVisible {
  int64_t lo, pre;
  bool operator()(int64_t i, int64_t j) const { return j <= i && (j >= lo || j < pre); }
};
OldVisible old_visible(const AttentionMask& m, int64_t flat) {
  return {m.segment_start ? m.segment_start[flat] : 0, m.prefix_end ? m.prefix_end[flat] : 0};
}

void old_attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                           const int32_t* lengths, const AttentionShape& s, const AttentionMask& mask) {
  using F = float;
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
        gemm(false, true, int(L), int(L), int(D), scale, qh, q_stride, kg, kv_stride, F(0), scores.data(), int(L));
        for (int64_t i = 0; i < L; ++i) {
          F* row = scores.data() + i * L;
          const OldVisible see = old_visible(mask, b * T + i);
          F mx = row[i];
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

void old_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                            const float* q, const float* k, const float* v, const int32_t* lengths,
                            const AttentionShape& s, const AttentionMask& mask) {
  using F = float;
  const int64_t T = s.seq, H = s.heads, G = s.kv_heads, D = s.head_dim, group = H / G;
  const int q_stride = int(H * D), kv_stride = int(G * D);
  const F scale = F(1) / std::sqrt(F(D));
#pragma omp parallel
  {
    std::vector<F> probs(T * T), dprobs(T * T), row_dot(T);
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
            const OldVisible see = old_visible(mask, b * T + i);
            for (int64_t j = 0; j <= i; ++j) row[j] = see(i, j) ? exp_fast(row[j] - lse_bh[i]) : F(0);
            std::fill(row + i + 1, row + L, F(0));
            F dot = 0;
            for (int64_t d = 0; d < D; ++d) dot += dout[off + i * H * D + d] * out[off + i * H * D + d];
            row_dot[i] = dot;
          }
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
// ---- end of BASELINE

using bench::median;
using bench::seconds;

// Random inputs and gradient buffers of one attention layer.
struct AttentionData {
  AttentionShape shape;
  std::vector<float> q, k, v, dout, out, lse, dq, dk, dv;
  std::vector<int32_t> lengths, segment_start;
  AttentionMask mask() const { return {segment_start.empty() ? nullptr : segment_start.data(), nullptr}; }

  AttentionData(const AttentionShape& s, Rng& rng) : shape(s), lengths(s.batch, int32_t(s.seq)) {
    const size_t qn = size_t(s.batch * s.seq * s.heads * s.head_dim),
                 kvn = size_t(s.batch * s.seq * s.kv_heads * s.head_dim);
    for (auto* x : {&q, &dout, &out, &dq}) x->resize(qn);
    for (auto* x : {&k, &v, &dk, &dv}) x->resize(kvn);
    lse.resize(size_t(s.batch * s.heads * s.seq));
    for (auto* x : {&q, &k, &v, &dout})
      for (auto& e : *x) e = float(rng.normal());
  }
  void run_new() {
    attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), lengths.data(), shape, mask());
    attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), out.data(), lse.data(), q.data(), k.data(),
                       v.data(), lengths.data(), shape, mask());
  }
  // Also the warm-up: both kernels must produce the same outputs before their times mean anything.
  void expect_old_equals_new() {
    run_old();
    const std::vector<float> old_out = out, old_lse = lse;
    run_new();
    float err = 0;
    for (size_t i = 0; i < out.size(); ++i) err = std::max(err, std::abs(out[i] - old_out[i]));
    for (size_t i = 0; i < lse.size(); ++i) err = std::max(err, std::abs(lse[i] - old_lse[i]));
    TANDEM_CHECK(err < 1e-4f, "old and new attention disagree by ", err);
  }
  void run_old() {
    old_attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), lengths.data(), shape, mask());
    old_attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), out.data(), lse.data(), q.data(), k.data(),
                           v.data(), lengths.data(), shape, mask());
  }
};

// One row of the table: B x T with B * T = the step's tokens.
void bench_shape(const ModelConfig& c, int64_t B, int64_t T, int64_t reps) {
  const double layers = double(c.num_hidden_layers);
  DecoderModel model(c);
  Rng rng(0);
  init_random(model.weights(), rng);
  Batch batch(B, T);
  for (auto& t : batch.tokens) t = int32_t(rng.below(uint64_t(c.vocab_size)));
  for (int64_t b = 0; b < B; ++b) std::fill_n(batch.loss_mask.begin() + b * T + 1, T - 1, 1);
  AdamW opt({0.9, 0.95, 1e-8, 0.1});
  const auto params = model.trainable_params();
  AttentionData att({B, T, c.num_attention_heads, c.num_key_value_heads, c.head_dim}, rng);
  auto step = [&] { sft_train_step(model, batch, opt, params, 1e-4, 1.0); };
  step();  // warm-up: allocations, page faults
  att.expect_old_equals_new();
  std::vector<double> t_old, t_new, t_step;
  for (int64_t r = 0; r < reps; ++r) {
    t_old.push_back(layers * seconds([&] { att.run_old(); }));
    t_new.push_back(layers * seconds([&] { att.run_new(); }));
    t_step.push_back(seconds(step));
  }
  const double a_old = median(t_old), a_new = median(t_new), s_new = median(t_step);
  const double s_old = s_new - a_new + a_old;  // the same step with the old kernel
  char label[32];
  std::snprintf(label, sizeof label, "%lldx%lld", (long long)B, (long long)T);
  std::printf("%-10s %12.4f %12.4f %7.2fx %11.4f %11.4f %9.1f%% %9.1f%%\n", label, a_old, a_new, a_old / a_new, s_old,
              s_new, 100 * a_old / s_old, 100 * a_new / s_new);
  std::fflush(stdout);
}

// Attention alone on one packed row of `segment`-token examples: the old kernel still does the full product.
void bench_packed(const ModelConfig& c, int64_t T, int64_t segment, int64_t reps) {
  Rng rng(1);
  AttentionData att({1, T, c.num_attention_heads, c.num_key_value_heads, c.head_dim}, rng);
  att.segment_start.resize(size_t(T));
  for (int64_t t = 0; t < T; ++t) att.segment_start[size_t(t)] = int32_t(t / segment * segment);
  att.expect_old_equals_new();
  std::vector<double> t_old, t_new;
  for (int64_t r = 0; r < reps; ++r) {
    t_old.push_back(double(c.num_hidden_layers) * seconds([&] { att.run_old(); }));
    t_new.push_back(double(c.num_hidden_layers) * seconds([&] { att.run_new(); }));
  }
  std::printf("packed 1x%lld, segments of %lld, attention alone: old %.4f s, new %.4f s per step (%.2fx)\n",
              (long long)T, (long long)segment, median(t_old), median(t_new), median(t_old) / median(t_new));
}
}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args(argc - 1, argv + 1,
                    {"hidden", "layers", "heads", "kv-heads", "ffn", "vocab", "tokens", "reps", "segment"});
    ModelConfig c;
    c.hidden_size = args.integer("hidden", 512);
    c.num_hidden_layers = args.integer("layers", 6);
    c.num_attention_heads = args.integer("heads", 8);
    c.num_key_value_heads = args.integer("kv-heads", c.num_attention_heads);
    c.head_dim = c.hidden_size / c.num_attention_heads;
    c.intermediate_size = args.integer("ffn", 1376);
    c.vocab_size = args.integer("vocab", 32000);
    const int64_t tokens = args.integer("tokens", 2048), reps = args.integer("reps", 5);
    TANDEM_CHECK(reps >= 1, "--reps must be at least 1");
    std::printf(
        "d=%lld layers=%lld heads=%lld/%lld head_dim=%lld ffn=%lld vocab=%lld, %lld tokens/step, %d threads, "
        "median of %lld interleaved reps; attention = layers x (forward + backward)\n",
        (long long)c.hidden_size, (long long)c.num_hidden_layers, (long long)c.num_attention_heads,
        (long long)c.num_key_value_heads, (long long)c.head_dim, (long long)c.intermediate_size,
        (long long)c.vocab_size, (long long)tokens, omp_get_max_threads(), (long long)reps);
    std::printf("%-10s %12s %12s %8s %11s %11s %10s %10s\n", "B x T", "old attn s", "new attn s", "speedup",
                "old step s*", "new step s", "old share", "new share");
    for (const int64_t T : {int64_t(512), int64_t(1024), int64_t(2048)})
      bench_shape(c, std::max<int64_t>(1, tokens / T), T, reps);
    std::printf("* estimated: the new step - new attention + old attention\n");
    bench_packed(c, tokens, args.integer("segment", 256), reps);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_attention: %s\n", e.what());
    return 1;
  }
}
