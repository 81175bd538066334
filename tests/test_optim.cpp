// AdamW and gradient clipping against torch.optim.AdamW / clip_grad_norm_; LR schedules against their formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "io/safetensors.h"
#include "optim/adamw.h"
#include "optim/schedule.h"

namespace tandem {
namespace {

TEST(AdamW, MatchesTorchWithClippingAndDecayGroups) {
  const SafetensorsFile ref(std::string(TANDEM_REFERENCE_DIR) + "/adamw.safetensors");
  Tensor a = ref.load("a0"), b = ref.load("b0");
  Tensor ga("ga", a.shape), gb("gb", b.shape);
  const std::vector<ParamRef> params = {{&a, &ga, true}, {&b, &gb, false}};
  AdamW opt({0.9, 0.95, 1e-8, 0.1});
  // A second copy updated the way the trainer does it: the clip factor folded into the AdamW step.
  Tensor a2 = a, b2 = b;
  const std::vector<ParamRef> params2 = {{&a2, &ga, true}, {&b2, &gb, false}};
  AdamW opt2({0.9, 0.95, 1e-8, 0.1});
  const Tensor lrs = ref.load("lrs"), norms = ref.load("norms");
  for (int s = 0; s < 5; ++s) {
    ga.assign(ref.load("ga" + std::to_string(s)).to_floats());
    gb.assign(ref.load("gb" + std::to_string(s)).to_floats());
    const double raw_norm = grad_global_norm(params);
    opt2.step(params2, lrs.ptr()[s], clip_coefficient(raw_norm, 1.0));
    const double norm = clip_grad_norm(params, 1.0);
    EXPECT_NEAR(norm, norms.ptr()[s], 1e-5 * norms.ptr()[s]) << "step " << s;
    opt.step(params, lrs.ptr()[s]);
  }
  EXPECT_EQ(opt.steps(), 5);
  const Tensor want_a = ref.load("a"), want_b = ref.load("b");
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a.ptr()[i], want_a.ptr()[i], 1e-6) << "a[" << i << "]";
  for (int64_t i = 0; i < b.numel(); ++i) EXPECT_NEAR(b.ptr()[i], want_b.ptr()[i], 1e-6) << "b[" << i << "]";
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a2.ptr()[i], want_a.ptr()[i], 1e-6) << "fused a[" << i << "]";
  for (int64_t i = 0; i < b.numel(); ++i) EXPECT_NEAR(b2.ptr()[i], want_b.ptr()[i], 1e-6) << "fused b[" << i << "]";
}

TEST(ClipGradNorm, LeavesSmallGradientsAlone) {
  Tensor p("p", {3}), g("g", {3});
  g.assign({0.3f, 0.4f, 0.0f});
  const double norm = clip_grad_norm({{&p, &g, true}}, 1.0);
  EXPECT_NEAR(norm, 0.5, 1e-7);
  EXPECT_FLOAT_EQ(g.ptr()[0], 0.3f);
}

TEST(LrSchedule, WarmupThenCosineAndLinear) {
  LrSchedule s{"cosine", 1e-3, 10, 110, 0.0};
  EXPECT_DOUBLE_EQ(s.at(0), 0.0);
  EXPECT_DOUBLE_EQ(s.at(5), 5e-4);
  EXPECT_DOUBLE_EQ(s.at(10), 1e-3);
  EXPECT_NEAR(s.at(60), 5e-4, 1e-12);  // halfway through the decay
  EXPECT_NEAR(s.at(110), 0.0, 1e-12);
  s.type = "linear";
  EXPECT_NEAR(s.at(35), 7.5e-4, 1e-12);
  s.min_lr_ratio = 0.1;
  EXPECT_NEAR(s.at(110), 1e-4, 1e-12);
  s.type = "constant";
  EXPECT_DOUBLE_EQ(s.at(100), 1e-3);
  s.type = "wsd";
  EXPECT_THROW(s.validate(), std::exception);
}

}  // namespace
}  // namespace tandem
