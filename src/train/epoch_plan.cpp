#include "train/epoch_plan.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace tandem {

namespace {
// ceil that ignores the rounding noise of a product like 0.1 x 30 (3.0000000000000004 is 3 steps, not 4).
int64_t steps_ceil(double x) { return int64_t(std::ceil(x - 1e-9)); }
}  // namespace

bool EpochPlan::ends_epoch(int64_t step) const {
  if (step <= 0) return false;
  return std::floor(epoch_at(step) + 1e-9) > std::floor(epoch_at(step - 1) + 1e-9);
}

int64_t update_steps_per_epoch(int64_t batches, int64_t gradient_accumulation_steps) {
  return std::max<int64_t>(batches / gradient_accumulation_steps, 1);
}

EpochPlan plan_epochs(const TrainConfig& cfg, int64_t sft_batches, int64_t preference_batches) {
  const int64_t accum = cfg.gradient_accumulation_steps;
  const double s_sft = sft_batches > 0 ? double(update_steps_per_epoch(sft_batches, accum)) : 0;
  const double s_dpo = preference_batches > 0 ? double(update_steps_per_epoch(preference_batches, accum)) : 0;
  const double epochs = cfg.num_train_epochs;
  const std::string& s = cfg.strategy;
  EpochPlan plan;
  if (s == "sft") {
    plan.steps_per_epoch = s_sft;
  } else if (s == "dpo") {
    plan.steps_per_epoch = s_dpo;
  } else if (s == "mix") {
    plan.steps_per_epoch = std::max(s_sft, s_dpo);
  } else if (s == "sequential") {
    plan.steps_per_epoch = s_sft + s_dpo;
  } else if (s == "alright") {
    double longest = 0;
    if (cfg.lambda < 1) longest = std::max(longest, s_sft / (1 - cfg.lambda));
    if (cfg.lambda > 0) longest = std::max(longest, s_dpo / cfg.lambda);
    plan.steps_per_epoch = longest;
  } else {  // maxright
    plan.steps_per_epoch = s_sft + s_dpo;
  }
  TANDEM_CHECK(plan.steps_per_epoch > 0, "strategy '", s, "': no training data to define an epoch");

  if (cfg.max_steps > 0) {
    plan.max_steps = cfg.max_steps;
    return plan;
  }
  if (s == "sequential") {
    const bool sft_first = cfg.sequential_order == "sft_then_dpo";
    const double s_first = sft_first ? s_sft : s_dpo, s_second = sft_first ? s_dpo : s_sft;
    plan.first_stage_steps = cfg.sequential_first_steps > 0      ? cfg.sequential_first_steps
                             : cfg.sequential_first_epochs > 0 ? steps_ceil(cfg.sequential_first_epochs * s_first)
                                                               : steps_ceil(epochs * s_first);
    plan.max_steps = plan.first_stage_steps + steps_ceil(epochs * s_second);
  } else {
    plan.max_steps = steps_ceil(epochs * plan.steps_per_epoch);  // transformers: ceil(num_train_epochs x steps)
  }
  TANDEM_CHECK(plan.max_steps > 0, "num_train_epochs = ", epochs, " is no training step");
  return plan;
}

}  // namespace tandem
