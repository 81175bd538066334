// Strategy decisions: ALRIGHT's draw rate and reproducibility, Sequential's split, Mix's weights, MAXRIGHT's
// choice of the largest weighted gap and its refresh schedule.
#include <gtest/gtest.h>

#include <vector>

#include "strategies/strategy.h"

namespace tandem {
namespace {

const Probe kNoProbe = [](Objective) -> double { ADD_FAILURE() << "unexpected probe"; return 0; };

TEST(Strategies, AlrightDrawsDpoWithProbabilityLambdaAndResumesExactly) {
  StrategyConfig c;
  c.name = "alright";
  c.lambda = 0.3;
  c.seed = 9;
  auto a = make_strategy(c);
  int dpo = 0;
  std::vector<bool> first;
  for (int s = 0; s < 4000; ++s) {
    const StepPlan p = a->plan(s, kNoProbe);
    EXPECT_EQ(p.w_sft + p.w_dpo, 1.0);  // exactly one objective, unweighted
    dpo += p.w_dpo > 0;
    if (s < 50) first.push_back(p.w_dpo > 0);
  }
  EXPECT_NEAR(dpo / 4000.0, 0.3, 0.025);  // ~3.5 standard deviations
  // Same seed, same draws; a strategy restored from a saved state continues the same sequence.
  auto b = make_strategy(c);
  for (int s = 0; s < 20; ++s) EXPECT_EQ(b->plan(s, kNoProbe).w_dpo > 0, first[s]) << s;
  auto resumed = make_strategy(c);
  resumed->load_state(b->state());
  for (int s = 20; s < 50; ++s) EXPECT_EQ(resumed->plan(s, kNoProbe).w_dpo > 0, first[s]) << s;
}

TEST(Strategies, SequentialFollowsThePapersSplitAndMixWeightsBoth) {
  StrategyConfig c;
  c.name = "sequential";
  c.max_steps = 600;
  c.lambda = 0.25;  // paper: (T_DPO, T_SFT) = (2, 4) of 6 epochs
  EXPECT_EQ(sequential_first_stage_steps(c), 400);  // SFT first: 4/6 of the steps
  c.sft_first = false;
  EXPECT_EQ(sequential_first_stage_steps(c), 200);
  auto seq = make_strategy(c);
  EXPECT_EQ(seq->plan(199, kNoProbe).w_dpo, 1.0);
  EXPECT_EQ(seq->plan(200, kNoProbe).w_sft, 1.0);

  c.name = "mix";
  const StepPlan p = make_strategy(c)->plan(0, kNoProbe);
  EXPECT_DOUBLE_EQ(p.w_dpo, 0.25);
  EXPECT_DOUBLE_EQ(p.w_sft, 0.75);
}

TEST(Strategies, MaxrightUpdatesTheLargestWeightedGapAndRefreshesEveryK) {
  StrategyConfig c;
  c.name = "maxright";
  c.lambda = 0.5;
  c.maxright_k = 3;
  c.ideal_mode = "given";
  c.sft_ideal = 1.0;
  c.dpo_ideal = 0.2;
  auto m = make_strategy(c);
  int probes = 0;
  double f_sft = 3.0, f_dpo = 0.7;  // gaps: 0.5 * 2.0 = 1.0 vs 0.5 * 0.5 = 0.25
  const Probe probe = [&](Objective o) {
    ++probes;
    return o == Objective::kSft ? f_sft : f_dpo;
  };
  EXPECT_EQ(m->plan(0, probe).w_sft, 1.0);
  EXPECT_EQ(probes, 2);  // initialised from both objectives
  m->observe(0, 1.1, std::nan(""));  // SFT gap now 0.05 < 0.25
  EXPECT_EQ(m->plan(1, probe).w_dpo, 1.0);
  m->observe(1, std::nan(""), 0.6);  // DPO gap 0.2 > 0.05
  EXPECT_EQ(m->plan(2, probe).w_dpo, 1.0);
  m->observe(2, std::nan(""), 0.25);  // DPO gap 0.025 < 0.05
  EXPECT_EQ(probes, 2);
  f_sft = 1.02;  // the refresh at step 3 sees SFT closer to its ideal than the stale estimate said
  f_dpo = 0.9;
  EXPECT_EQ(m->plan(3, probe).w_dpo, 1.0);
  EXPECT_EQ(probes, 4);
  // The state round-trips.
  auto copy = make_strategy(c);
  copy->load_state(m->state());
  EXPECT_EQ(copy->log_fields(), m->log_fields());
}

}  // namespace
}  // namespace tandem
