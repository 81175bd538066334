#include "train/sft_step.h"

#include <cmath>

#include "core/check.h"
#include "objectives/objectives.h"

namespace tandem {

StepStats sft_train_step(DecoderModel& model, const Batch& batch, AdamW& optimizer, const std::vector<ParamRef>& params,
                         double lr, double max_grad_norm) {
  StepStats stats;
  stats.tokens = batch.scored_tokens();
  TANDEM_CHECK(stats.tokens > 0, "sft step: the batch has no scored tokens (is every token masked as prompt?)");
  const std::vector<float> dlogp(batch.num_sequences(), -1.0f / float(stats.tokens));
  model.zero_grads();
  const SequenceLogprobs out = model.forward_backward(batch, dlogp);
  stats.loss = sft_loss(out.logp, out.tokens).loss;
  TANDEM_CHECK(std::isfinite(stats.loss), "sft step: loss is ", stats.loss, " (diverged; lower the learning rate)");
  stats.grad_norm = grad_global_norm(params);
  TANDEM_CHECK(std::isfinite(stats.grad_norm), "sft step: gradient norm is ", stats.grad_norm);
  optimizer.step(params, lr, clip_coefficient(stats.grad_norm, max_grad_norm));
  return stats;
}

}  // namespace tandem
