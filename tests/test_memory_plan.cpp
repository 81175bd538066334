// Parameters, gradients, adapters and optimizer state each live in one block per backend (core/arena.h), and the
// memory a training step needs is computed before it runs (model/memory_plan.h): here the plan is held to every
// byte the model and AdamW allocate through their backend, counted by backends/profiling.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "backends/profiling.h"
#include "model/decoder_model.h"
#include "model/memory_plan.h"
#include "optim/adamw.h"
#include "train/sft_step.h"

namespace tandem {
namespace {

ModelConfig tiny(bool tied) {
  ModelConfig c;
  c.vocab_size = 97, c.hidden_size = 32, c.intermediate_size = 48, c.num_hidden_layers = 3;
  c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 8;
  c.qk_norm = true, c.qkv_bias = true, c.tie_word_embeddings = tied;
  return c;
}

// Every tensor a view into `block`, at 64-byte aligned offsets, in order and without overlap, filling it.
template <typename Tensors>
void expect_packed(const Tensor& block, const Tensors& tensors) {
  const char* base = static_cast<const char*>(block.raw());
  int64_t next = 0;
  for (const Tensor* t : tensors) {
    const int64_t at = static_cast<const char*>(t->raw()) - base;
    EXPECT_EQ(at % 64, 0) << t->name;
    EXPECT_GE(at, next) << t->name << " overlaps the tensor before it";
    next = at + t->bytes();
    EXPECT_LE(next, block.bytes()) << t->name << " runs past " << block.name;
  }
  EXPECT_GT(next, block.bytes() - 64) << block.name << " is larger than its tensors";
}

std::vector<const Tensor*> tensors_of(const ModelWeights& w) {
  std::vector<const Tensor*> out;
  for_each_tensor(w, [&](const Tensor& t) { out.push_back(&t); });
  return out;
}

TEST(Arena, WeightsAndGradientsAreOneBlockEach) {
  for (bool tied : {false, true})
    for (DType dtype : {DType::kF32, DType::kBF16}) {
      const ModelConfig c = tiny(tied);
      const ModelWeights w = allocate_weights(c, nullptr, dtype);
      EXPECT_EQ(w.storage.bytes(), weights_bytes(c, dtype));
      expect_packed(w.storage, tensors_of(w));
      for (const Tensor* t : tensors_of(w)) EXPECT_EQ(t->dtype(), dtype) << t->name;
    }
  DecoderModel model(tiny(false));
  Rng rng(1);
  init_random(model.weights(), rng);
  const std::vector<float> before = model.weights().layers[1].wq.to_floats();
  model.set_bf16(true);  // converted into a new bf16 block, values rounded once
  expect_packed(model.weights().storage, tensors_of(model.weights()));
  const std::vector<float> after = model.weights().layers[1].wq.to_floats();
  for (size_t i = 0; i < before.size(); ++i) ASSERT_EQ(after[i], to_float(to_bf16(before[i])));
  expect_packed(model.grads().storage, tensors_of(model.grads()));
}

TEST(Arena, AdapterAndOptimizerStateAreOneBlockEach) {
  DecoderModel model(tiny(true), cpu_backend(), DType::kBF16);
  Rng rng(2);
  init_random(model.weights(), rng);
  LoraConfig lc;
  lc.r = 4;
  model.enable_lora(lc, rng);
  std::vector<const Tensor*> adapters;
  for_each_tensor(model.lora(), [&](const Tensor& t) { adapters.push_back(&t); });
  expect_packed(model.lora().storage, adapters);
  EXPECT_EQ(model.lora().storage.bytes(), lora_bytes(model.config(), lc, DType::kBF16));

  AdamW opt;
  const auto params = model.trainable_params();
  opt.init_state(params);
  std::vector<const Tensor*> state;
  for (const auto& t : opt.exp_avg()) state.push_back(&t);
  for (const auto& t : opt.exp_avg_sq()) state.push_back(&t);
  for (const auto& t : opt.master_weights()) state.push_back(&t);
  expect_packed(opt.state_block(), state);
  // Master copies start as the bf16 parameters' values.
  for (size_t i = 0; i < params.size(); ++i) ASSERT_EQ(opt.master_weights()[i].to_floats(), params[i].value->to_floats());
}

struct PlanCase {
  const char* name;
  DType dtype;
  bool recompute, lora;
  double dropout = 0;
};

class MemoryPlan : public ::testing::TestWithParam<PlanCase> {};

// A full step (forward, backward, AdamW) on a counting backend: everything allocated through the backend is what
// the plan computes, except the kernels' workspace, which the CPU backend keeps in host vectors of its own, and the
// batch's few integer inputs.
TEST_P(MemoryPlan, PredictsWhatAStepAllocates) {
  const PlanCase pc = GetParam();
  const ModelConfig c = tiny(false);
  ProfilingBackend counting(cpu_backend());
  DecoderModel model(c, counting, pc.dtype);
  Rng rng(3);
  init_random(model.weights(), rng);
  model.set_recompute(pc.recompute);
  LoraConfig lc;
  lc.r = 4;
  lc.target_modules = {"q_proj", "v_proj", "down_proj"};
  lc.dropout = pc.dropout;
  if (pc.lora) model.enable_lora(lc, rng);
  model.set_training(true);  // LoRA dropout is on in training
  const int64_t B = 3, T = 11;
  Batch batch(B, T);
  for (auto& t : batch.tokens) t = int32_t(rng.below(uint64_t(c.vocab_size)));
  for (int64_t b = 0; b < B; ++b) std::fill_n(batch.loss_mask.begin() + b * T + 1, T - 1, 1);
  AdamW opt;
  const auto params = model.trainable_params();
  sft_train_step(model, batch, opt, params, 1e-3, 1.0);

  StepShape s;
  s.batch = B, s.seq = T, s.dtype = pc.dtype, s.recompute = pc.recompute;
  s.lora = pc.lora ? &lc : nullptr;
  const StepMemory plan = plan_step_memory(c, s);
  const int64_t planned = plan.total() - plan.workspace;
  const int64_t inputs = 16 * B * T * 4;  // i32 tokens, positions, scored rows and targets, lengths; f32 logp, grad
  const std::string seen = "planned " + std::to_string(planned) + " bytes (" + plan.str() + "), held " +
                           std::to_string(counting.live_bytes()) + ", peak " + std::to_string(counting.peak_bytes());
  EXPECT_GE(counting.live_bytes(), planned) << seen;
  EXPECT_LE(counting.peak_bytes(), planned + inputs) << seen;
}

INSTANTIATE_TEST_SUITE_P(Steps, MemoryPlan,
                         ::testing::Values(PlanCase{"f32", DType::kF32, false, false},
                                           PlanCase{"bf16", DType::kBF16, false, false},
                                           PlanCase{"f32_recompute", DType::kF32, true, false},
                                           PlanCase{"bf16_lora", DType::kBF16, false, true},
                                           PlanCase{"f32_lora_recompute", DType::kF32, true, true},
                                           PlanCase{"bf16_lora_dropout", DType::kBF16, false, true, 0.1},
                                           PlanCase{"f32_lora_dropout_recompute", DType::kF32, true, true, 0.1}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tandem
