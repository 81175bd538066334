// Learning-rate schedules with linear warmup, matching transformers' get_{constant,linear,cosine}_schedule_
// with_warmup: the multiplier at optimizer step s (0-based) is warmup s / warmup_steps, then decays.
#pragma once
#include <cstdint>
#include <string>

namespace tandem {

struct LrSchedule {
  std::string type = "cosine";  // constant | linear | cosine
  double peak_lr = 1e-4;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_ratio = 0.0;    // floor of the decay, as a fraction of peak_lr

  double at(int64_t step) const;
  void validate() const;
};

}  // namespace tandem
