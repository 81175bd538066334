// The oneDNN GEMMs (core/gemm.h) against a naive double-precision triple loop: every transpose combination,
// sub-matrices of larger buffers (lda/ldb/ldc > width, nothing outside C written), alpha/beta (beta 0 ignores NaN
// in C), odd sizes, calls from inside OpenMP parallel regions, run-to-run determinism; bf16 inputs with fp32 and
// bf16 outputs, and a sum that only fp32 accumulation gets exactly right. ctest also runs these with
// ONEDNN_MAX_CPU_ISA=AVX2 (an AVX2-only CPU, where oneDNN has no bf16 and the bf16 GEMM widens to fp32).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/bf16.h"
#include "core/gemm.h"
#include "core/rng.h"

namespace tandem {
namespace {

float widen(float x) { return x; }
float widen(bf16 x) { return to_float(x); }
template <typename T>
T narrow(float x) {
  if constexpr (std::is_same_v<T, float>)
    return x;
  else
    return to_bf16(x);
}

void run(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
         float beta, float* c, int ldc) {
  gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
template <typename Out>
void run(bool ta, bool tb, int m, int n, int k, float alpha, const bf16* a, int lda, const bf16* b, int ldb,
         float beta, Out* c, int ldc) {
  gemm_bf16(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

struct Case {
  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  int pad;  // extra columns in every buffer, and the matrices start one row and `pad` columns in
};

std::string describe(const Case& c) {
  return "ta=" + std::to_string(c.ta) + " tb=" + std::to_string(c.tb) + " m=" + std::to_string(c.m) +
         " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) + " alpha=" + std::to_string(c.alpha) +
         " beta=" + std::to_string(c.beta) + " pad=" + std::to_string(c.pad);
}

// Runs one GEMM on random data and returns the largest error, each relative to the magnitude of its terms,
// |alpha| sum_p |a_ip b_pj| + |beta c_ij| (the scale GEMM rounding error is proportional to; |result| alone can
// be cancelled down to nothing). Returns infinity when anything outside C's sub-matrix changed.
template <typename In, typename Out>
double gemm_error(const Case& cs, uint64_t seed) {
  Rng rng(seed);
  const auto random = [&] { return float(2.0 * rng.uniform() - 1.0); };
  const int a_rows = cs.ta ? cs.k : cs.m, a_cols = cs.ta ? cs.m : cs.k;
  const int b_rows = cs.tb ? cs.n : cs.k, b_cols = cs.tb ? cs.k : cs.n;
  const int lda = a_cols + cs.pad, ldb = b_cols + cs.pad, ldc = cs.n + cs.pad, off = cs.pad;
  std::vector<In> a(size_t(a_rows + 2) * lda), b(size_t(b_rows + 2) * ldb);
  for (auto& x : a) x = narrow<In>(random());
  for (auto& x : b) x = narrow<In>(random());
  const Out sentinel = narrow<Out>(12345.0f);
  std::vector<Out> c(size_t(cs.m + 2) * ldc, sentinel);
  const In* a0 = a.data() + lda + off;
  const In* b0 = b.data() + ldb + off;
  Out* c0 = c.data() + ldc + off;
  for (int i = 0; i < cs.m; ++i)
    for (int j = 0; j < cs.n; ++j)
      c0[i * ldc + j] = cs.beta == 0.0f ? narrow<Out>(std::numeric_limits<float>::quiet_NaN()) : narrow<Out>(random());
  const std::vector<Out> before = c;

  run(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, a0, lda, b0, ldb, cs.beta, c0, ldc);

  double worst = 0;
  for (int i = 0; i < cs.m; ++i)
    for (int j = 0; j < cs.n; ++j) {
      double sum = 0, magnitude = 0;
      for (int p = 0; p < cs.k; ++p) {
        const double t = double(widen(cs.ta ? a0[p * lda + i] : a0[i * lda + p])) *
                         double(widen(cs.tb ? b0[j * ldb + p] : b0[p * ldb + j]));
        sum += t;
        magnitude += std::abs(t);
      }
      const double old = cs.beta == 0.0f ? 0.0 : double(widen(before[size_t(c0 - c.data()) + i * ldc + j]));
      const double ref = double(cs.alpha) * sum + double(cs.beta) * old;
      const double scale = std::abs(double(cs.alpha)) * magnitude + std::abs(double(cs.beta) * old);
      const double err = std::abs(double(widen(c0[i * ldc + j])) - ref);
      if (std::isnan(err)) return err;
      worst = std::max(worst, scale > 0 ? err / scale : err);
    }
  for (size_t idx = 0; idx < c.size(); ++idx) {
    const int64_t rel = int64_t(idx) - (c0 - c.data()), i = rel / ldc, j = rel % ldc;
    const bool inside = rel >= 0 && i < cs.m && j < cs.n;
    if (!inside && std::memcmp(&c[idx], &sentinel, sizeof(Out)) != 0) return std::numeric_limits<double>::infinity();
  }
  return worst;
}

// fp32: the tolerance the engine's PyTorch parity tests use.
constexpr double kFp32Tol = 1e-5;

TEST(Gemm, Fp32MatchesDoubleReference) {
  const float alpha_beta[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 0.25f}, {0.125f, 0.0f}};
  const int sizes[] = {1, 7, 33, 130};
  int index = 0;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true})
      for (const int m : sizes)
        for (const int n : sizes)
          for (const int k : sizes) {
            const auto& ab = alpha_beta[index % 4];
            const Case cs{ta, tb, m, n, k, ab[0], ab[1], index % 3 == 0 ? 0 : 1 + index % 5};
            EXPECT_LE((gemm_error<float, float>(cs, uint64_t(index))), kFp32Tol) << describe(cs);
            ++index;
          }
}

TEST(Gemm, Beta0OverwritesNaNAndBeta1Accumulates) {
  const int m = 33, n = 7, k = 130;
  std::vector<float> a(m * k), b(k * n), c(m * n, std::numeric_limits<float>::quiet_NaN()), once;
  Rng rng(3);
  for (auto& x : a) x = float(rng.uniform());
  for (auto& x : b) x = float(rng.uniform());
  gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
  for (const float x : c) ASSERT_TRUE(std::isfinite(x));
  once = c;
  gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 1.0f, c.data(), n);
  for (int i = 0; i < m * n; ++i) EXPECT_NEAR(c[i], 2.0f * once[i], 1e-5f * 2.0f * once[i]);
}

TEST(Gemm, EmptySizesFollowBlas) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> c = {nan, nan, nan, nan};
  const float a_nan[4] = {nan, nan, nan, nan};
  // k == 0: C = beta * C, with beta 0 clearing NaN; A and B are never read.
  gemm(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.0f, c.data(), 2);
  EXPECT_EQ(c, std::vector<float>(4, 0.0f));
  c = {1, 2, 3, 4};
  gemm(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 2.0f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{2, 4, 6, 8}));
  // alpha == 0: A and B are not read either (BLAS), so NaN there does not reach C.
  gemm(false, false, 2, 2, 2, 0.0f, a_nan, 2, a_nan, 2, 0.5f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4}));
  // m == 0 or n == 0: nothing to do.
  gemm(false, false, 0, 2, 2, 1.0f, a_nan, 2, a_nan, 2, 0.0f, c.data(), 2);
  gemm(false, false, 2, 0, 2, 1.0f, a_nan, 2, a_nan, 2, 0.0f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4}));
  std::vector<bf16> cb(4, to_bf16(nan));
  gemm_bf16(true, true, 2, 2, 0, 1.0f, nullptr, 2, nullptr, 1, 0.0f, cb.data(), 2);
  for (const bf16 x : cb) EXPECT_EQ(to_float(x), 0.0f);
}

TEST(Gemm, InsideOmpParallelRegion) {
  // Four threads at once, each on shapes shared by all (one cached primitive run concurrently) and on its own
  // (primitives created concurrently), as attention does per (sequence, head).
  constexpr int kThreads = 4, kPerThread = 6;
  std::vector<double> errors(kThreads * kPerThread, -1.0);
#pragma omp parallel num_threads(kThreads)
  {
    const int t = omp_get_thread_num();
    for (int r = 0; r < kPerThread; ++r) {
      const bool own = r % 2 == 1;
      const Case cs{r % 3 == 0, r % 4 < 2, 33 + (own ? t : 0), 130, own ? 7 + t : 64, 1.0f, r < 3 ? 0.0f : 1.0f, 2};
      errors[t * kPerThread + r] = gemm_error<float, float>(cs, uint64_t(t * 100 + r));
    }
  }
  for (int i = 0; i < kThreads * kPerThread; ++i) EXPECT_LE(errors[i], kFp32Tol) << "thread " << i / kPerThread;
}

TEST(Gemm, BitIdenticalRunToRun) {
  // Large enough to be split over threads at the top level; the same call inside a region runs on one thread.
  const int m = 256, n = 512, k = 1024;
  std::vector<float> a(m * k), b(n * k), c1(m * n, 1.0f), c2(m * n, 1.0f);
  Rng rng(5);
  for (auto& x : a) x = float(rng.normal());
  for (auto& x : b) x = float(rng.normal());
  gemm(false, true, m, n, k, 0.5f, a.data(), k, b.data(), k, 1.0f, c1.data(), n);
  gemm(false, true, m, n, k, 0.5f, a.data(), k, b.data(), k, 1.0f, c2.data(), n);
  EXPECT_EQ(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)), 0);
  std::vector<float> p1(m * n), p2(m * n);
#pragma omp parallel num_threads(2)
  {
    std::vector<float>& p = omp_get_thread_num() == 0 ? p1 : p2;
    gemm(true, false, m, n, k, 1.0f, a.data(), m, b.data(), n, 0.0f, p.data(), n);
  }
  EXPECT_EQ(std::memcmp(p1.data(), p2.data(), p1.size() * sizeof(float)), 0);
}

TEST(Bf16, ConversionRoundsToNearestEven) {
  EXPECT_EQ(to_bf16(1.0f).bits, 0x3f80);
  EXPECT_EQ(to_float(to_bf16(-2.5f)), -2.5f);
  EXPECT_EQ(to_float(to_bf16(1.0f + 0x1p-8f)), 1.0f);                       // tie, even below
  EXPECT_EQ(to_float(to_bf16(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);         // tie, even above
  EXPECT_EQ(to_float(to_bf16(1.0f + 0x1p-8f + 0x1p-20f)), 1.0f + 0x1p-7f);  // past the tie
  EXPECT_EQ(to_float(to_bf16(std::numeric_limits<float>::infinity())), std::numeric_limits<float>::infinity());
  EXPECT_EQ(to_float(to_bf16(std::numeric_limits<float>::max())), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(to_float(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload is only in the low 16 bits would become Inf if rounded like a number.
  EXPECT_TRUE(std::isnan(to_float(to_bf16(std::bit_cast<float>(0x7f800001u)))));
  EXPECT_TRUE(std::isnan(to_float(to_bf16(std::bit_cast<float>(0xff80ffffu)))));
}

// Inputs exactly representable in bf16 carry 8 significant bits, so each product has at most 16 and is exact in
// fp32 (24). With fp32 accumulation the only rounding left is the fp32 summation's, exactly as in the fp32 GEMM,
// so the fp32 tolerance holds.
TEST(Bf16, ExactInputsFp32OutputMatchReference) {
  int index = 0;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true})
      for (const int s : {1, 7, 33, 130}) {
        const Case cs{ta, tb, s, 130 - s / 2, 3 * s + 1, index % 2 ? -0.5f : 1.0f, index % 3 ? 1.0f : 0.0f, s % 3};
        EXPECT_LE((gemm_error<bf16, float>(cs, uint64_t(index))), kFp32Tol) << describe(cs);
        ++index;
      }
}

// bf16 output: the fp32 result rounded once, so within half a bf16 ulp (2^-9 relative) plus fp32 rounding.
TEST(Bf16, Bf16OutputIsTheRoundedFp32Result) {
  int index = 0;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true})
      for (const float beta : {0.0f, 1.0f}) {
        const Case cs{ta, tb, 33, 130, 64 + index, 1.0f, beta, index % 3};
        EXPECT_LE((gemm_error<bf16, bf16>(cs, uint64_t(index))), 0x1p-9 + kFp32Tol) << describe(cs);
        ++index;
      }
}

// Sums that fp32 accumulation gets exactly and bf16 accumulation (or bf16-rounded products) does not.
float sum_in_bf16(int k, float term) {
  float acc = 0;
  for (int p = 0; p < k; ++p) acc = to_float(to_bf16(acc + term));
  return acc;
}

TEST(Bf16, AccumulatesInFp32) {
  const int m = 3, n = 5, k = 4096;
  // a = b = 1 + 2^-4 (exact in bf16): each product 1 + 2^-3 + 2^-8 needs 9 significant bits, more than bf16 has.
  // Every partial sum is j * 289/256 with j <= 4096, at most 21 significant bits: exact in fp32 in any order.
  const bf16 x = to_bf16(1.0f + 0x1p-4f);
  const float product = 1.0f + 0x1p-3f + 0x1p-8f, exact = 4624.0f;
  ASSERT_EQ(to_float(x) * to_float(x), product);
  ASSERT_NE(sum_in_bf16(k, product), exact);               // bf16 accumulation: the running sum stalls
  ASSERT_NE(float(k) * to_float(to_bf16(product)), exact);  // products rounded to bf16 (ties to 1.125): 4608
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      const std::vector<bf16> a(size_t(m) * k, x), b(size_t(k) * n, x);
      std::vector<float> c(m * n);
      gemm_bf16(ta, tb, m, n, k, 1.0f, a.data(), ta ? m : k, b.data(), tb ? k : n, 0.0f, c.data(), n);
      for (const float v : c) EXPECT_EQ(v, exact) << "ta=" << ta << " tb=" << tb;
    }
  // bf16 output: 1 x (1 + 2^-7) summed 4096 times is 4128 = 2^12 (1 + 2^-7), exact in bf16, so one final rounding
  // of the fp32 sum keeps it; accumulating in bf16 does not.
  const bf16 one = to_bf16(1.0f), y = to_bf16(1.0f + 0x1p-7f);
  ASSERT_NE(sum_in_bf16(k, to_float(y)), 4128.0f);
  const std::vector<bf16> a(size_t(m) * k, one), b(size_t(k) * n, y);
  std::vector<bf16> c(m * n);
  gemm_bf16(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
  for (const bf16 v : c) EXPECT_EQ(to_float(v), 4128.0f);
}

TEST(Gemm, BackendInfoNamesLibraryAndKernels) {
  const std::string info = gemm_backend_info();
  EXPECT_EQ(info.rfind("oneDNN ", 0), 0u) << info;
  EXPECT_NE(info.find(", fp32 "), std::string::npos) << info;
  EXPECT_NE(info.find(", bf16 "), std::string::npos) << info;
}

}  // namespace
}  // namespace tandem
