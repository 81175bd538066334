// The CUDA kernels' pure math and index helpers (src/backends/cuda/kernels/*.h, compiled for host and device),
// checked on the CPU: no GPU needed. The activations must be the CPU backend's formulas, and the norms' gradient
// parts must cover every row exactly once.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/cpu/kernels/activation.h"
#include "backends/cuda/kernels/activation_math.h"
#include "backends/cuda/kernels/norm_parts.h"
#include "core/fastmath.h"

namespace tandem {
namespace {

// Inputs across the activations' interesting range, their saturation and exp_fast's clamp.
std::vector<float> sample_points() {
  std::vector<float> x;
  for (int i = -4000; i <= 4000; ++i) x.push_back(float(i) * 0.005f);  // [-20, 20]
  for (float v : {-100.0f, -88.0f, -87.5f, -87.0f, -30.0f, 0.0f, -0.0f, 1e-30f, -1e-30f, 30.0f, 88.5f, 100.0f})
    x.push_back(v);
  return x;
}

TEST(CudaKernelsHost, ExpFastIsTheCpuExpFast) {
  for (float x : sample_points()) EXPECT_EQ(cuda::exp_fast(x), exp_fast(x)) << x;
}

// The CUDA functor of `act` against the CPU kernels over the sample points: values and derivatives.
template <typename A>
void expect_matches_cpu(Activation act) {
  const std::vector<float> x = sample_points();
  const int64_t n = int64_t(x.size());
  std::vector<float> value(x.size()), slope(x.size(), 0.0f), dout(x.size(), 1.0f);
  activation_forward(value.data(), x.data(), n, act);
  activation_backward(slope.data(), dout.data(), x.data(), n, act);  // adds act'(x) * 1 into zeros
  for (size_t i = 0; i < x.size(); ++i) {
    float v = 0;
    const float d = A::derivative(x[i], v);
    const auto tol = [](float ref) { return 2e-6f * std::max(1.0f, std::fabs(ref)); };
    EXPECT_NEAR(A::value(x[i]), value[i], tol(value[i])) << activation_name(act) << " at " << x[i];
    EXPECT_NEAR(v, value[i], tol(value[i])) << activation_name(act) << " value in derivative at " << x[i];
    EXPECT_NEAR(d, slope[i], tol(slope[i])) << activation_name(act) << " derivative at " << x[i];
  }
}

TEST(CudaKernelsHost, ActivationsAreTheCpuFormulas) {
  expect_matches_cpu<cuda::Silu>(Activation::kSilu);
  expect_matches_cpu<cuda::Gelu>(Activation::kGelu);
  expect_matches_cpu<cuda::GeluTanh>(Activation::kGeluTanh);
}

TEST(CudaKernelsHost, NormGradientPartsCoverEveryRowOnce) {
  EXPECT_EQ(cuda::norm_parts(0), 0);
  std::vector<int64_t> rows_list;
  for (int64_t r = 1; r <= 3000; ++r) rows_list.push_back(r);
  for (int64_t r : {int64_t(65536), int64_t(1) << 20, (int64_t(1) << 31) + 7}) rows_list.push_back(r);
  for (int64_t rows : rows_list) {
    const int64_t parts = cuda::norm_parts(rows), per = cuda::norm_rows_per_part(rows);
    ASSERT_GE(parts, 1) << rows;
    ASSERT_LE(parts, cuda::kNormMaxParts) << rows;
    EXPECT_GE(parts * per, rows) << rows;          // every row is in a part
    EXPECT_LT((parts - 1) * per, rows) << rows;    // the last part is not empty
  }
}

}  // namespace
}  // namespace tandem
