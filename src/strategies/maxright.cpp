#include "strategies/maxright.h"

#include <cmath>

#include "core/check.h"

namespace tandem {

namespace {
int index(Objective o) { return o == Objective::kSft ? 0 : 1; }
nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double number_or_nan(const nlohmann::json& j) {
  return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}
}  // namespace

Maxright::Maxright(const StrategyConfig& c)
    : lambda_(c.lambda), k_(c.maxright_k), ideal_mode_(c.ideal_mode), ideal_{c.sft_ideal, c.dpo_ideal} {
  TANDEM_CHECK(ideal_mode_ == "given" || ideal_mode_ == "zero" || ideal_mode_ == "running_min",
               "maxright: ideal mode '", ideal_mode_, "' is not one of given, zero, running_min");
  if (ideal_mode_ == "zero") ideal_[0] = ideal_[1] = 0.0;
}

void Maxright::record(Objective o, double value) {
  if (!std::isfinite(value)) return;
  last_[index(o)] = value;
  min_[index(o)] = std::min(min_[index(o)], value);
}

double Maxright::gap(Objective o) const {
  const int i = index(o);
  const double ideal = ideal_mode_ == "running_min" ? min_[i] : ideal_[i];
  const double weight = o == Objective::kSft ? 1.0 - lambda_ : lambda_;
  return weight * (last_[i] - ideal);
}

StepPlan Maxright::plan(int64_t step, const Probe& probe) {
  if (!initialised_ || (k_ > 0 && step % k_ == 0)) {
    record(Objective::kSft, probe(Objective::kSft));
    record(Objective::kDpo, probe(Objective::kDpo));
    initialised_ = true;
  }
  // Ties go to SFT, so lambda = 0.5 with equal gaps starts where Sequential SFT->DPO starts.
  return gap(Objective::kDpo) > gap(Objective::kSft) ? StepPlan{0, 1} : StepPlan{1, 0};
}

void Maxright::observe(int64_t, double f_sft, double f_dpo) {
  record(Objective::kSft, f_sft);
  record(Objective::kDpo, f_dpo);
}

nlohmann::json Maxright::state() const {
  return {{"initialised", initialised_},
          {"last", {finite_or_null(last_[0]), finite_or_null(last_[1])}},
          {"min", {finite_or_null(min_[0]), finite_or_null(min_[1])}}};
}

void Maxright::load_state(const nlohmann::json& s) {
  initialised_ = s.at("initialised").get<bool>();
  for (int i = 0; i < 2; ++i) {
    last_[i] = number_or_nan(s.at("last")[i]);
    const double m = number_or_nan(s.at("min")[i]);
    min_[i] = std::isfinite(m) ? m : std::numeric_limits<double>::infinity();
  }
}

nlohmann::json Maxright::log_fields() const {
  return {{"gap_sft", finite_or_null(gap(Objective::kSft))}, {"gap_dpo", finite_or_null(gap(Objective::kDpo))}};
}

}  // namespace tandem
