// A training run that would not fit in host memory says so before it allocates anything: the memory plan of its
// largest step (model/memory_plan.h) against what the machine has free (core/host_memory.h).
#pragma once
#include "train/train_config.h"

namespace tandem {

// The step planned: per-device batch (train or eval, the larger) x max_length, twice the rows when preference
// pairs are trained (chosen and rejected), in the run's dtype, recomputation and LoRA settings.
// TANDEM_SKIP_MEMORY_CHECK=1 in the environment skips the check (for a plan that is wrong on some system).
void check_training_fits(const TrainConfig& cfg);

}  // namespace tandem
