// The activation table is the model's memory: one block sized by activation_layout holds every saved activation,
// in f32 or bf16, with or without recomputation, and its size is known before the forward runs.
#include <gtest/gtest.h>

#include "model/activations.h"
#include "model/decoder_model.h"

namespace tandem {
namespace {

ModelConfig tiny() {
  ModelConfig c;
  c.vocab_size = 50, c.hidden_size = 32, c.intermediate_size = 48, c.num_hidden_layers = 3;
  c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 8, c.qk_norm = true;
  return c;
}

TEST(Activations, OneBlockSizedBeforeTheForward) {
  const ModelConfig c = tiny();
  for (DType dtype : {DType::kF32, DType::kBF16})
    for (bool recompute : {false, true}) {
      DecoderModel model(c, cpu_backend(), dtype);
      Rng rng(3);
      init_random(model.weights(), rng);
      model.set_recompute(recompute);
      Batch batch(2, 9);
      for (auto& t : batch.tokens) t = int32_t(rng.below(50));
      for (int64_t b = 0; b < 2; ++b) std::fill_n(batch.loss_mask.begin() + b * 9 + 1, 8, 1);
      model.forward(batch);
      EXPECT_EQ(model.activation_bytes(), activation_bytes(c, 2, 9, recompute, dtype))
          << dtype_str(dtype) << (recompute ? " recompute" : "");
    }
  // bf16 halves what feeds and leaves matmuls; the residual stream and statistics stay f32.
  const int64_t f32 = activation_bytes(c, 4, 128, false, DType::kF32);
  const int64_t bf16 = activation_bytes(c, 4, 128, false, DType::kBF16);
  EXPECT_LT(bf16, f32 * 3 / 4);
  EXPECT_GT(bf16, f32 / 2);
  // Recomputation keeps one layer's table instead of three.
  EXPECT_LT(activation_bytes(c, 4, 128, true, DType::kF32), f32 / 2);
}

}  // namespace
}  // namespace tandem
