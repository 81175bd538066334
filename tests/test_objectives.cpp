// Objectives against the same formulas written in PyTorch (TRL's way) and differentiated by autograd.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/check.h"
#include "io/safetensors.h"
#include "objectives/objectives.h"

namespace tandem {
namespace {

std::vector<double> as_double(const Tensor& t) {
  const std::vector<float> v = t.to_floats();
  return {v.begin(), v.end()};
}
std::vector<int64_t> as_counts(const Tensor& t) {
  std::vector<int64_t> out;
  for (float v : t.to_floats()) out.push_back(int64_t(v));
  return out;
}

// The reference file stores float64; loading goes through fp32, so compare at fp32 resolution.
constexpr double kTol = 2e-6;

class Objectives : public ::testing::TestWithParam<std::string> {};

TEST_P(Objectives, LossAndGradientMatchPyTorch) {
  const SafetensorsFile ref(std::string(TANDEM_REFERENCE_DIR) + "/objectives.safetensors");
  PairLogps policy{as_double(ref.load("pc")), as_double(ref.load("pr")), as_counts(ref.load("nc")),
                   as_counts(ref.load("nr"))};
  PairLogps reference{as_double(ref.load("rc")), as_double(ref.load("rr")), policy.chosen_tokens,
                      policy.rejected_tokens};
  const std::string name = GetParam();
  PreferenceConfig cfg;
  const bool rpo = name.rfind("rpo_", 0) == 0;  // rpo_<loss>: the loss plus rpo_alpha = 0.5 x chosen NLL
  cfg.loss_type = name == "sigmoid_ls" ? "sigmoid" : rpo ? name.substr(4) : name;
  cfg.rpo_alpha = rpo ? 0.5 : 0.0;
  cfg.label_smoothing = name == "sigmoid_ls" || name == "simpo" ? 0.1 : 0.0;
  cfg.beta = name == "simpo" ? 2.0 : 0.1;
  cfg.simpo_gamma = 0.5;
  cfg.validate();
  const PreferenceLoss out = preference_loss(policy, reference, cfg);
  const double want = ref.load(name + ".loss").ptr()[0];
  EXPECT_NEAR(out.loss, want, kTol * std::max(1.0, std::abs(want)));
  const Tensor dc = ref.load(name + ".d_chosen"), dr = ref.load(name + ".d_rejected");
  for (size_t i = 0; i < policy.size(); ++i) {
    EXPECT_NEAR(out.d_chosen[i], dc.ptr()[i], kTol * std::max(1e-3, std::abs(double(dc.ptr()[i])))) << i;
    EXPECT_NEAR(out.d_rejected[i], dr.ptr()[i], kTol * std::max(1e-3, std::abs(double(dr.ptr()[i])))) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(TrlFormulas, Objectives,
                         ::testing::Values("sigmoid", "sigmoid_ls", "ipo", "hinge", "simpo", "orpo", "rpo_sigmoid",
                                           "rpo_ipo"));

// rpo_alpha = 0 must leave DPO exactly as it was: same loss and gradients, bit for bit.
TEST(Objectives, RpoAlphaZeroIsBitIdenticalToPlainDpo) {
  const PairLogps p{{-10.5, -20.25, -7}, {-12, -8.5, -9}, {5, 6, 3}, {4, 7, 5}};
  const PairLogps r{{-11, -19, -7.5}, {-11.5, -9, -8}, {5, 6, 3}, {4, 7, 5}};
  for (const char* type : {"sigmoid", "ipo", "hinge"}) {
    PreferenceConfig plain, zero;
    plain.loss_type = zero.loss_type = type;
    zero.rpo_alpha = 0.0;
    const PreferenceLoss a = dpo_loss(p, r, plain), b = preference_loss(p, r, zero);
    EXPECT_EQ(a.loss, b.loss) << type;
    EXPECT_EQ(a.d_chosen, b.d_chosen) << type;
    EXPECT_EQ(a.d_rejected, b.d_rejected) << type;
  }
}

TEST(Objectives, RpoAlphaOnlyWithTheDpoFamily) {
  PreferenceConfig cfg;
  cfg.rpo_alpha = 1.0;
  cfg.loss_type = "orpo";
  EXPECT_THROW(cfg.validate(), Error);
  cfg.loss_type = "simpo";
  EXPECT_THROW(cfg.validate(), Error);
  cfg.loss_type = "hinge";
  EXPECT_NO_THROW(cfg.validate());
  cfg.rpo_alpha = -1;
  EXPECT_THROW(cfg.validate(), Error);
}

TEST(Objectives, DpoAtReferenceIsLog2AndRewardsAreZero) {
  const PairLogps p{{-10, -20}, {-12, -8}, {5, 6}, {4, 7}};
  const PreferenceLoss out = dpo_loss(p, p, PreferenceConfig{});
  EXPECT_NEAR(out.loss, std::log(2.0), 1e-12);
  EXPECT_EQ(out.reward_margin, 0.0);
  EXPECT_NEAR(out.d_chosen[0], -0.1 * 0.5 / 2, 1e-12);  // -beta * sigmoid(0) / n
}

TEST(Objectives, SftIsTokenMeanNll) {
  const SftLoss out = sft_loss({-3.0, -5.0}, {2, 6});
  EXPECT_DOUBLE_EQ(out.loss, 1.0);
  EXPECT_DOUBLE_EQ(out.dlogp[1], -1.0 / 8);
}

TEST(Objectives, BadSettingsAreErrors) {
  PreferenceConfig cfg;
  cfg.loss_type = "kto";
  EXPECT_THROW(cfg.validate(), Error);
  const PairLogps empty_response{{-1}, {-1}, {0}, {3}};
  EXPECT_THROW(dpo_loss(empty_response, empty_response, PreferenceConfig{}), Error);
}

}  // namespace
}  // namespace tandem
