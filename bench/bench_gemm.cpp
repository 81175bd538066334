// GEMM throughput on the bench model's shapes (d=512, ffn 1376, vocab 32000, 1024 tokens): OpenBLAS sgemm, the
// engine's oneDNN fp32 gemm and oneDNN bf16 gemm_bf16 (fp32 output), timed interleaved (ABCABC...) so load changes on
// a shared machine hit all three alike; prints the median GFLOP/s of each and the ratios, and which kernels ran.
// usage: bench_gemm [--reps N]   (threads: OMP_NUM_THREADS)
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "bench_timing.h"
#include "cli/args.h"
#include "core/bf16.h"
#include "core/gemm.h"
#include "core/rng.h"

using namespace tandem;

namespace {

struct Shape {
  const char* what;
  bool ta, tb;
  int m, n, k;
};

using bench::median;
using bench::seconds;

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args(argc - 1, argv + 1, {"reps"});
    const int reps = int(std::max(5LL, args.integer("reps", 7)));
    // The engine's calls: a linear forward is y = x W^T (trans_b), its dX = dY W, its dW = dY^T X (trans_a).
    const Shape shapes[] = {
        {"fwd qkv", false, true, 1024, 1536, 512},      {"fwd o_proj", false, true, 1024, 512, 512},
        {"fwd gate/up", false, true, 1024, 1376, 512},  {"fwd down", false, true, 1024, 512, 1376},
        {"dX qkv", false, false, 1024, 512, 1536},      {"dW down", true, false, 512, 1376, 1024},
        {"lm-head chunk", false, true, 256, 32000, 512},
    };
    std::printf("gemm: %s; %d threads, median of %d interleaved repetitions\n", gemm_backend_info().c_str(),
                omp_get_max_threads(), reps);
    std::printf("%-14s %-5s %-16s %9s %9s %9s %11s %9s\n", "shape", "op", "m x n x k", "openblas", "f32", "bf16",
                "f32/blas", "bf16/f32");
    Rng rng(0);
    for (const Shape& s : shapes) {
      const size_t a_size = size_t(s.m) * s.k, b_size = size_t(s.k) * s.n;
      std::vector<float> a(a_size), b(b_size), c(size_t(s.m) * s.n);
      for (auto& x : a) x = float(rng.normal());
      for (auto& x : b) x = float(rng.normal());
      std::vector<bf16> a16(a_size), b16(b_size);
      std::transform(a.begin(), a.end(), a16.begin(), to_bf16);
      std::transform(b.begin(), b.end(), b16.begin(), to_bf16);
      const int lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
      const std::function<void()> runs[] = {
          [&] {
            cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, s.m, s.n,
                        s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
          },
          [&] { gemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n); },
          [&] { gemm_bf16(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a16.data(), lda, b16.data(), ldb, 0.0f, c.data(), s.n); },
      };
      for (const auto& run : runs) run();  // warm-up: oneDNN compiles its kernels, pages are touched
      std::vector<double> times[3];
      for (int r = 0; r < reps; ++r)
        for (int i = 0; i < 3; ++i) times[i].push_back(seconds(runs[i]));
      const double flops = 2.0 * s.m * s.n * s.k;
      double gflops[3];
      for (int i = 0; i < 3; ++i) gflops[i] = flops / median(times[i]) / 1e9;
      char dims[32];
      std::snprintf(dims, sizeof dims, "%dx%dx%d", s.m, s.n, s.k);
      const char* op = s.ta ? "A^T B" : s.tb ? "A B^T" : "A B";
      std::printf("%-14s %-5s %-16s %9.1f %9.1f %9.1f %10.2fx %8.2fx\n", s.what, op, dims, gflops[0], gflops[1],
                  gflops[2], gflops[1] / gflops[0], gflops[2] / gflops[1]);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gemm: %s\n", e.what());
    return 1;
  }
}
