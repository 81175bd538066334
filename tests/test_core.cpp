// Core utilities: tensors name their shape errors, the RNG is reproducible and resumable, exp_fast is accurate.
#include <gtest/gtest.h>

#include <cmath>

#include "core/check.h"
#include "core/fastmath.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace tandem {
namespace {

TEST(Tensor, ShapeErrorNamesTheTensor) {
  Tensor t("model.layers.0.mlp.up_proj.weight", {4, 3});
  EXPECT_EQ(t.numel(), 12);
  try {
    t.expect_shape({3, 4});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("model.layers.0.mlp.up_proj.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3, 4]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4, 3]"), std::string::npos) << msg;
  }
}

TEST(Rng, SameSeedSameStreamAndStateRestores) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  const Rng::State saved = a.state();
  const double x1 = a.normal(), x2 = a.uniform();
  Rng d(0);
  d.set_state(saved);
  EXPECT_EQ(d.normal(), x1);
  EXPECT_EQ(d.uniform(), x2);
}

TEST(Rng, NormalHasUnitMoments) {
  Rng rng(7);
  double sum = 0, sum_sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    sum += x;
    sum_sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.01);
}

TEST(FastMath, ExpMatchesLibmToFewUlp) {
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.0137f) {
    const double ref = std::exp(double(x));
    worst = std::max(worst, std::abs(double(exp_fast(x)) - ref) / ref);
  }
  EXPECT_LT(worst, 4e-7);
  EXPECT_EQ(exp_fast(-1000.0f) < 1e-37f, true);
}

}  // namespace
}  // namespace tandem
