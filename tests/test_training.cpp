// Training end to end: a tiny model must memorise a sequence, and runs are bit-for-bit reproducible.
#include <gtest/gtest.h>

#include <algorithm>

#include "model/decoder_model.h"
#include "optim/schedule.h"
#include "train/sft_step.h"

namespace tandem {
namespace {

ModelConfig tiny_config() {
  ModelConfig c;
  c.vocab_size = 48;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  return c;
}

// Two sequences of different lengths (the second padded), prompt tokens masked.
Batch memorisation_batch() {
  Rng rng(11);
  Batch b(2, 24);
  b.lengths = {24, 17};
  for (int64_t s = 0; s < 2; ++s)
    for (int64_t t = 0; t < b.lengths[s]; ++t) {
      b.tokens[s * 24 + t] = int32_t(rng.below(48));
      b.loss_mask[s * 24 + t] = t >= 3;
    }
  return b;
}

std::vector<double> train(int64_t steps, DecoderModel& model) {
  Rng rng(3);
  init_random(model.weights(), rng, 0.05);
  const Batch batch = memorisation_batch();
  AdamW opt({0.9, 0.95, 1e-8, 0.01});
  const auto params = model.trainable_params();
  const LrSchedule lr{"cosine", 1e-2, 5, steps, 0.1};
  std::vector<double> losses;
  for (int64_t s = 0; s < steps; ++s) losses.push_back(sft_train_step(model, batch, opt, params, lr.at(s), 1.0).loss);
  return losses;
}

TEST(Training, TinyModelMemorisesSequences) {
  DecoderModel model(tiny_config());
  const std::vector<double> losses = train(80, model);
  // Uniform guessing over 48 tokens costs ln 48 = 3.87 nats; memorised, the loss is near zero.
  EXPECT_NEAR(losses.front(), std::log(48.0), 0.3);
  EXPECT_LT(losses.back(), 0.05) << "loss went from " << losses.front() << " to " << losses.back();

  const Batch batch = memorisation_batch();
  const std::vector<float> logits = model.logits(batch);
  for (int64_t s = 0; s < batch.batch; ++s)
    for (int64_t t = 3; t < batch.lengths[s]; ++t) {
      const float* row = logits.data() + (s * batch.seq + t - 1) * 48;
      EXPECT_EQ(std::max_element(row, row + 48) - row, batch.tokens[s * batch.seq + t]) << "seq " << s << " pos " << t;
    }
}

TEST(Training, SameSeedSameTrajectoryWithAndWithoutRecompute) {
  DecoderModel a(tiny_config()), b(tiny_config()), c(tiny_config());
  c.set_recompute(true);
  const auto la = train(10, a), lb = train(10, b), lc = train(10, c);
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ(la[i], lb[i]) << "step " << i;  // bit-for-bit
    EXPECT_EQ(la[i], lc[i]) << "step " << i;  // recomputation changes memory, not numbers
  }
}

}  // namespace
}  // namespace tandem
