#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace tandem {

void LrSchedule::validate() const {
  TANDEM_CHECK(type == "constant" || type == "linear" || type == "cosine", "lr_scheduler_type: '", type,
               "' is not one of constant, linear, cosine");
  TANDEM_CHECK(peak_lr >= 0, "learning_rate must be >= 0, got ", peak_lr);
  TANDEM_CHECK(warmup_steps >= 0, "warmup_steps must be >= 0, got ", warmup_steps);
  TANDEM_CHECK(total_steps > 0, "total steps must be > 0, got ", total_steps);
  TANDEM_CHECK(min_lr_ratio >= 0 && min_lr_ratio <= 1, "min_lr_ratio must be in [0, 1], got ", min_lr_ratio);
}

double LrSchedule::at(int64_t step) const {
  if (step < warmup_steps) return peak_lr * double(step) / double(std::max<int64_t>(1, warmup_steps));
  if (type == "constant") return peak_lr;
  const double progress =
      std::clamp(double(step - warmup_steps) / double(std::max<int64_t>(1, total_steps - warmup_steps)), 0.0, 1.0);
  const double decay = type == "linear" ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return peak_lr * (min_lr_ratio + (1.0 - min_lr_ratio) * decay);
}

}  // namespace tandem
