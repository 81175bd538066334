// MAXRIGHT: update the objective with the largest weighted optimality gap
//   s_SFT = (1 - lambda) (f_SFT - f*_SFT),  s_DPO = lambda (f_DPO - f*_DPO).
// Gaps start from forward passes on each stream's next batch; after each update the trained objective's gap is
// set from the loss that update computed (its pre-update value); every k steps both are refreshed with
// forward-only passes (k = 1: the full variant, both evaluated every step; k = 0: never refreshed).
// The ideal values f* are given, zero, or the running minimum of everything observed (no prior runs needed).
#pragma once
#include <limits>

#include "strategies/strategy.h"

namespace tandem {

class Maxright : public Strategy {
 public:
  explicit Maxright(const StrategyConfig& c);
  StepPlan plan(int64_t step, const Probe& probe) override;
  void observe(int64_t step, double f_sft, double f_dpo) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;
  nlohmann::json log_fields() const override;

 private:
  void record(Objective o, double value);
  double gap(Objective o) const;

  double lambda_;
  int64_t k_;
  std::string ideal_mode_;
  double ideal_[2];
  double last_[2] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  double min_[2] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  bool initialised_ = false;
};

}  // namespace tandem
