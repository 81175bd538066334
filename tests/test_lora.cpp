// LoRA: the kernel against finite differences; the adapted model against PyTorch (adapter read from PEFT files);
// adapters off equal the base; merging equals the adapted model; PEFT files round-trip; dropout masks are
// reproducible and their gradient is right.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "backends/cpu/kernels/lora.h"
#include "gradcheck.h"
#include "io/atomic_file.h"
#include "io/hf_checkpoint.h"
#include "io/safetensors.h"
#include "model/tensor_table.h"
#include "reference_data.h"

namespace tandem {
namespace {

using testing::dot;
using testing::expect_gradient;
using testing::random_vector;

TEST(GradCheck, LoraBranch) {
  Rng rng(21);
  const LoraShape s{5, 6, 4, 3, 2.5};
  auto x = random_vector(rng, s.rows * s.in), a = random_vector(rng, s.rank * s.in);
  auto b = random_vector(rng, s.out * s.rank), r = random_vector(rng, s.rows * s.out);
  std::vector<double> y, h(s.rows * s.rank);
  auto loss = [&] {
    y.assign(s.rows * s.out, 0.5);  // the branch adds onto the base output
    lora_forward(y.data(), h.data(), x.data(), a.data(), b.data(), s);
    return dot(y, r);
  };
  loss();
  std::vector<double> dx(x.size(), 0.0), da(a.size(), 0.0), db(b.size(), 0.0);
  lora_backward(dx.data(), da.data(), db.data(), r.data(), x.data(), h.data(), a.data(), b.data(), s);
  expect_gradient("x", x, dx, loss);
  expect_gradient("A", a, da, loss);
  expect_gradient("B", b, db, loss);
}

const std::string kDir = std::string(TANDEM_REFERENCE_DIR) + "/lora";

using testing::max_relative_error;
using testing::reference_batch;

// Qwen2 with adapters on q, v, o, gate and down; GPT-NeoX with adapters on its fused per-head query_key_value (one
// A, one B over the q, k and v rows, reordered on load) and on dense_4h_to_h.
class LoraParity : public ::testing::TestWithParam<std::string> {};

TEST_P(LoraParity, MatchesPyTorchThroughPeftFiles) {
  const std::string dir = std::string(TANDEM_REFERENCE_DIR) + "/" + GetParam();
  auto model = load_model(dir);
  model->set_lora(load_peft_adapter(dir + "/adapter", model->config()));
  const SafetensorsFile e(dir + "/expected.safetensors");
  const Batch batch = reference_batch(e);
  const std::vector<float> logits = model->logits(batch);
  // Compare real rows only (padding rows differ by design, see test_model_parity.cpp).
  const Tensor want = e.load("logits");
  std::vector<float> got_real, want_real;
  const int64_t V = model->config().vocab_size;
  for (int64_t b = 0; b < batch.batch; ++b)
    for (int64_t i = 0; i < batch.lengths[b] * V; ++i) {
      got_real.push_back(logits[b * batch.seq * V + i]);
      want_real.push_back(want.ptr()[b * batch.seq * V + i]);
    }
  Tensor want_t("logits", {int64_t(want_real.size())});
  want_t.assign(want_real);
  EXPECT_LE(max_relative_error(got_real.data(), want_t), 1e-5);

  const Tensor coef_t = e.load("coef");
  const std::vector<float> coef = coef_t.to_floats();
  for (bool recompute : {false, true}) {
    model->set_recompute(recompute);
    model->zero_grads();
    model->forward(batch);
    model->backward(coef);
    const auto params = model->trainable_params();
    size_t expected_grads = 0;
    for (const auto& name : e.names()) expected_grads += name.starts_with("grad.");
    EXPECT_EQ(params.size(), expected_grads);  // every A and B, and nothing of the frozen base
    // The adapter's own tensors, in PEFT's layout (GPT-NeoX's B rows per head, as its base checkpoint's).
    std::vector<Tensor> grads;
    for (const LoraModule& m : model->lora_grads().modules) {
      grads.push_back(m.a);
      grads.push_back(to_checkpoint_layout(m.b, m.info.interleaved_heads));
    }
    ASSERT_EQ(grads.size(), params.size());
    for (const auto& g : grads) EXPECT_LE(max_relative_error(g.ptr(), e.load("grad." + g.name)), 1e-5) << g.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, LoraParity, ::testing::Values("lora", "lora_gpt_neox"));

TEST(Lora, AdaptersOffIsTheBaseAndMergingIsTheAdaptedModel) {
  auto base = load_model(kDir);
  auto adapted = load_model(kDir);
  adapted->set_lora(load_peft_adapter(kDir + "/adapter", adapted->config()));
  const Batch batch = reference_batch(SafetensorsFile(kDir + "/expected.safetensors"));
  const std::vector<float> base_logits = base->logits(batch), with = adapted->logits(batch);
  adapted->set_adapters_enabled(false);
  EXPECT_EQ(adapted->logits(batch), base_logits);  // bit-identical: the adapter branch is skipped
  adapted->set_adapters_enabled(true);

  merge_lora(base->weights(), adapted->lora());
  const std::vector<float> merged = base->logits(batch);
  double err = 0, scale = 0;
  for (size_t i = 0; i < merged.size(); ++i) {
    err = std::max(err, double(std::abs(merged[i] - with[i])));
    scale = std::max(scale, double(std::abs(with[i])));
  }
  EXPECT_LE(err / scale, 1e-5);
}

TEST(Lora, PeftFilesRoundTrip) {
  auto model = load_model(kDir);
  LoraConfig cfg;
  cfg.r = 3;
  cfg.alpha = 6;
  cfg.target_modules = {"k_proj", "up_proj"};
  Rng rng(4);
  model->enable_lora(cfg, rng);
  for (auto& t : model->trainable_params()) t.value->ptr()[0] = 0.25f;  // B must not stay all-zero
  const std::string dir = (std::filesystem::temp_directory_path() / "tandem_peft").string();
  save_peft_adapter(model->lora(), dir, "some/base");
  const auto j = nlohmann::json::parse(read_file(dir + "/adapter_config.json"));
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["r"], 3);
  EXPECT_EQ(j["target_modules"], (std::vector<std::string>{"k_proj", "up_proj"}));
  const SafetensorsFile f(dir + "/adapter_model.safetensors");
  EXPECT_TRUE(f.has("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight"));
  const LoraWeights loaded = load_peft_adapter(dir, model->config());
  std::vector<std::vector<float>> a, b;
  for_each_tensor(model->lora(), [&](const Tensor& t) { a.push_back(t.to_floats()); });
  for_each_tensor(loaded, [&](const Tensor& t) { b.push_back(t.to_floats()); });
  EXPECT_EQ(a, b);
}

TEST(Lora, DropoutMasksAreReproducibleAndBackpropagateCorrectly) {
  auto model = load_model(kDir);
  LoraConfig cfg;
  cfg.r = 4;
  cfg.dropout = 0.3;
  cfg.target_modules = {"q_proj", "down_proj"};
  Rng rng(9);
  model->enable_lora(cfg, rng);
  for (auto& p : model->trainable_params())
    for (int64_t i = 0; i < p.value->numel(); ++i) p.value->ptr()[i] = float(rng.normal() * 0.2);  // non-zero B
  const SafetensorsFile e(kDir + "/expected.safetensors");
  const Batch batch = reference_batch(e);
  const std::vector<float> coef = {1.0f, -0.5f, 0.75f};
  // Masks of a training forward are drawn at counter + 1 (each training forward advances the counter).
  auto loss_at = [&](uint64_t counter) {
    model->set_dropout_counter(counter);
    const SequenceLogprobs out = model->forward(batch);
    double l = 0;
    for (size_t b = 0; b < coef.size(); ++b) l += coef[b] * out.logp[b];
    return l;
  };
  model->set_training(true);
  const double l1 = loss_at(7), l2 = loss_at(7), l3 = loss_at(8);
  EXPECT_EQ(l1, l2);  // same counter, same masks
  EXPECT_NE(l1, l3);
  model->set_training(false);
  EXPECT_NE(loss_at(7), l1);  // no dropout outside training
  model->set_training(true);

  // Gradient through the masks against central differences (fp32 model: h = 1e-2, 2% tolerance).
  model->zero_grads();
  loss_at(7);
  model->backward(coef);  // uses the masks of that forward
  const auto params = model->trainable_params();
  for (const ParamRef& p : {params[0], params[1], params[3]}) {
    for (int64_t i : {int64_t(0), p.value->numel() / 2}) {
      const float saved = p.value->ptr()[i];
      p.value->ptr()[i] = saved + 1e-2f;
      const double up = loss_at(7);
      p.value->ptr()[i] = saved - 1e-2f;
      const double down = loss_at(7);
      p.value->ptr()[i] = saved;
      const double numeric = (up - down) / 2e-2;
      EXPECT_NEAR(p.grad->ptr()[i], numeric, 2e-2 * std::max(1.0, std::abs(numeric))) << p.value->name << "[" << i << "]";
    }
  }
}

}  // namespace
}  // namespace tandem
