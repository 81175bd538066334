// How many optimizer steps `num_train_epochs` means for each strategy, and where its epochs end.
//
// An epoch of one dataset is transformers' num_update_steps_per_epoch: max(batches // gradient_accumulation_steps, 1)
// optimizer steps (Trainer._inner_training_loop; batches = ceil(examples / per_device_train_batch_size)). With two
// datasets, one epoch of a strategy is:
//   sft, dpo     an epoch of its dataset;
//   mix          an epoch of the larger dataset (in steps): both objectives train every step, the smaller one
//                wraps around;
//   sequential   an epoch of the first stage's dataset, then an epoch of the second's; num_train_epochs epochs
//                are ceil(E x S_first) steps of stage one then ceil(E x S_second) of stage two (unless
//                sequential_first_steps / sequential_first_epochs fix stage one);
//   alright      the steps after which each dataset is expected to have been seen once: a step trains SFT with
//                probability 1 - lambda, so max(S_sft / (1 - lambda), S_dpo / lambda) (a term with a zero
//                probability is left out: that dataset is never trained on);
//   maxright     S_sft + S_dpo: it trains one objective per step, chosen by the losses, so no share is known in
//                advance; this is the budget in which one pass over each is possible (ALRIGHT's at lambda = 1/2
//                for equal datasets).
// max_steps > 0 wins over num_train_epochs, as in transformers; the logged `epoch` is then still step / epoch length.
#pragma once
#include <cstdint>

#include "train/train_config.h"

namespace tandem {

struct EpochPlan {
  int64_t max_steps = 0;          // resolved: max_steps, or num_train_epochs epochs
  double steps_per_epoch = 1;     // optimizer steps in one epoch of the strategy (not an integer for alright)
  int64_t first_stage_steps = 0;  // sequential with epochs: stage one's steps (0: the strategy's own rule)

  double epoch_at(int64_t step) const { return double(step) / steps_per_epoch; }
  // True when `step` (1-based, after the update) is the first step at or past an epoch boundary.
  bool ends_epoch(int64_t step) const;
};

// Update steps in one epoch of a dataset of `batches` batches (transformers' rule).
int64_t update_steps_per_epoch(int64_t batches, int64_t gradient_accumulation_steps);

// `sft_batches` / `preference_batches`: batches per epoch of each training set (0 when the strategy has none).
EpochPlan plan_epochs(const TrainConfig& cfg, int64_t sft_batches, int64_t preference_batches);

}  // namespace tandem
