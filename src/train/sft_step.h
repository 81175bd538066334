// One supervised step: token-mean NLL over the batch's scored tokens, gradient-norm clipping, AdamW.
// The NLL's gradient per sequence (-1 / scored tokens in the batch) is known before the forward pass, so the
// model runs its one-pass forward+backward and never recomputes the LM-head logits.
#pragma once
#include <cstdint>
#include <vector>

#include "model/decoder_model.h"
#include "optim/adamw.h"

namespace tandem {

struct StepStats {
  double loss = 0;       // mean NLL per scored token, before the update
  double grad_norm = 0;  // before clipping
  int64_t tokens = 0;    // scored tokens
};

StepStats sft_train_step(DecoderModel& model, const Batch& batch, AdamW& optimizer, const std::vector<ParamRef>& params,
                         double lr, double max_grad_norm);

}  // namespace tandem
