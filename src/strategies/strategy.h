// How each training step divides its update between the SFT and the preference (DPO) objective.
// lambda weights DPO and 1 - lambda weights SFT throughout (METHODS.md).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace tandem {

enum class Objective { kSft, kDpo };

// Gradient weights of the step: one backward per objective with a non-zero weight.
struct StepPlan {
  double w_sft = 0, w_dpo = 0;
};

// Evaluates an objective on its stream's next batch without training or advancing the stream (MAXRIGHT).
using Probe = std::function<double(Objective)>;

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual StepPlan plan(int64_t step, const Probe& probe) = 0;
  // Objective values computed by this step's update, before the update (NaN where not computed).
  virtual void observe(int64_t /*step*/, double /*f_sft*/, double /*f_dpo*/) {}
  // Everything needed to continue identically after a resume.
  virtual nlohmann::json state() const { return nlohmann::json::object(); }
  virtual void load_state(const nlohmann::json& /*s*/) {}
  // Extra fields for the step's log line (e.g. MAXRIGHT's gap estimates).
  virtual nlohmann::json log_fields() const { return nlohmann::json::object(); }
};

struct StrategyConfig {
  std::string name = "alright";  // sft | dpo | sequential | mix | alright | maxright
  double lambda = 0.5;
  int64_t max_steps = 1;
  uint64_t seed = 0;
  bool sft_first = true;         // sequential
  int64_t first_stage_steps = 0; // sequential; 0: paper pairing, see sequential_first_stage_steps
  int64_t maxright_k = 10;
  std::string ideal_mode = "zero";  // given | zero | running_min
  double sft_ideal = 0, dpo_ideal = 0;
};

// The paper pairs lambda with a 6-epoch split (T_DPO, T_SFT) = (1,5)..(5,1) for lambda = 0.01..0.99, i.e. a
// DPO share of (1 + 4 lambda) / 6; this maps that share onto max_steps.
int64_t sequential_first_stage_steps(const StrategyConfig& c);

std::unique_ptr<Strategy> make_strategy(const StrategyConfig& c);

}  // namespace tandem
