// The baselines and ALRIGHT: each decides its step without looking at the losses.
#include <cmath>

#include "core/check.h"
#include "core/rng.h"
#include "strategies/maxright.h"
#include "strategies/strategy.h"

namespace tandem {

namespace {

class SingleObjective : public Strategy {
 public:
  explicit SingleObjective(Objective o) : o_(o) {}
  StepPlan plan(int64_t, const Probe&) override { return o_ == Objective::kSft ? StepPlan{1, 0} : StepPlan{0, 1}; }

 private:
  Objective o_;
};

// Stage one for first_steps steps, then the other objective.
class Sequential : public Strategy {
 public:
  Sequential(bool sft_first, int64_t first_steps) : sft_first_(sft_first), first_steps_(first_steps) {}
  StepPlan plan(int64_t step, const Probe&) override {
    const bool sft = (step < first_steps_) == sft_first_;
    return sft ? StepPlan{1, 0} : StepPlan{0, 1};
  }
  nlohmann::json log_fields() const override { return {{"first_stage_steps", first_steps_}}; }

 private:
  bool sft_first_;
  int64_t first_steps_;
};

// Both objectives every step: (1 - lambda) grad f_SFT + lambda grad f_DPO.
class Mix : public Strategy {
 public:
  explicit Mix(double lambda) : lambda_(lambda) {}
  StepPlan plan(int64_t, const Probe&) override { return {1 - lambda_, lambda_}; }

 private:
  double lambda_;
};

// ALRIGHT: DPO with probability lambda, else SFT; the draw's RNG state is checkpointed.
class Alright : public Strategy {
 public:
  Alright(double lambda, uint64_t seed) : lambda_(lambda), rng_(seed) {}
  StepPlan plan(int64_t, const Probe&) override { return rng_.bernoulli(lambda_) ? StepPlan{0, 1} : StepPlan{1, 0}; }
  nlohmann::json state() const override { return {{"rng", rng_.state()}}; }
  void load_state(const nlohmann::json& s) override { rng_.set_state(s.at("rng").get<Rng::State>()); }

 private:
  double lambda_;
  Rng rng_;
};

}  // namespace

int64_t sequential_first_stage_steps(const StrategyConfig& c) {
  if (c.first_stage_steps > 0) return c.first_stage_steps;
  const double dpo_share = (1.0 + 4.0 * c.lambda) / 6.0;
  const double first_share = c.sft_first ? 1.0 - dpo_share : dpo_share;
  return std::llround(first_share * double(c.max_steps));
}

std::unique_ptr<Strategy> make_strategy(const StrategyConfig& c) {
  if (c.name == "sft") return std::make_unique<SingleObjective>(Objective::kSft);
  if (c.name == "dpo") return std::make_unique<SingleObjective>(Objective::kDpo);
  if (c.name == "sequential") return std::make_unique<Sequential>(c.sft_first, sequential_first_stage_steps(c));
  if (c.name == "mix") return std::make_unique<Mix>(c.lambda);
  if (c.name == "alright") return std::make_unique<Alright>(c.lambda, c.seed);
  if (c.name == "maxright") return std::make_unique<Maxright>(c);
  fail("strategy: unknown name '", c.name, "' (sft, dpo, sequential, mix, alright, maxright)");
}

}  // namespace tandem
