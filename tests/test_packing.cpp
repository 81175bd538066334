// Prefix sharing and packing change how sequences are laid out, not what is computed: log-probs and parameter
// gradients must equal those of plain, one-sequence-per-row batches (fp32; 1e-5 relative to the largest value).
#include <gtest/gtest.h>

#include <cmath>

#include "data/collate.h"
#include "io/hf_checkpoint.h"

namespace tandem {
namespace {

std::vector<int32_t> random_tokens(Rng& rng, int64_t n, int64_t vocab) {
  std::vector<int32_t> t(n);
  for (auto& x : t) x = int32_t(rng.below(uint64_t(vocab)));
  return t;
}

double rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double err = 0, scale = 1e-12;
  for (size_t i = 0; i < a.size(); ++i) {
    err = std::max(err, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return err / scale;
}

std::vector<double> flat_grads(DecoderModel& m) {
  std::vector<double> g;
  for_each_tensor(m.grads(), [&](const Tensor& t) { const std::vector<float> v = t.to_floats();
    g.insert(g.end(), v.begin(), v.end());
  });
  return g;
}

// Log-probs and gradients (for fixed random dL/dlogp) of one batch layout.
std::pair<std::vector<double>, std::vector<double>> run(DecoderModel& m, const Batch& b, const std::vector<float>& dlogp) {
  m.zero_grads();
  const SequenceLogprobs out = m.forward(b);
  m.backward(dlogp);
  return {out.logp, flat_grads(m)};
}

class Layouts : public ::testing::TestWithParam<std::string> {};

TEST_P(Layouts, SharedPrefixEqualsSeparateChosenAndRejected) {
  auto model = load_model(std::string(TANDEM_REFERENCE_DIR) + "/" + GetParam());
  const int64_t V = model->config().vocab_size;
  Rng rng(1);
  std::vector<PreferenceExample> data;
  for (int i = 0; i < 4; ++i)  // prompts of different lengths, one empty; responses of different lengths
    data.push_back({random_tokens(rng, i == 2 ? 0 : 3 + i, V), random_tokens(rng, 2 + i, V), random_tokens(rng, 5 - i, V)});
  std::vector<const PreferenceExample*> ptrs;
  for (const auto& e : data) ptrs.push_back(&e);
  const Truncation trunc{16, 8};
  std::vector<float> dlogp(8);
  for (auto& d : dlogp) d = float(rng.normal());
  const auto [plain_logp, plain_grad] = run(*model, collate_preference(ptrs, trunc), dlogp);
  const Batch shared = collate_preference_shared(ptrs, trunc);
  EXPECT_EQ(shared.batch, 4);  // one row per pair instead of two
  const auto [shared_logp, shared_grad] = run(*model, shared, dlogp);
  EXPECT_LE(rel_diff(shared_logp, plain_logp), 1e-5);
  EXPECT_LE(rel_diff(shared_grad, plain_grad), 1e-5);
}

TEST_P(Layouts, PackedSftEqualsOneExamplePerRow) {
  auto model = load_model(std::string(TANDEM_REFERENCE_DIR) + "/" + GetParam());
  const int64_t V = model->config().vocab_size;
  Rng rng(2);
  std::vector<SftExample> data;
  for (int i = 0; i < 5; ++i) data.push_back({random_tokens(rng, 1 + i % 3, V), random_tokens(rng, 2 + i, V)});
  std::vector<const SftExample*> ptrs;
  for (const auto& e : data) ptrs.push_back(&e);
  const Truncation trunc{12, 4};
  std::vector<float> dlogp(5);
  for (auto& d : dlogp) d = float(rng.normal());
  const auto [plain_logp, plain_grad] = run(*model, collate_sft(ptrs, trunc), dlogp);
  const Batch packed = collate_sft_packed(ptrs, trunc);
  EXPECT_LT(packed.batch, 5);  // several examples share rows
  const auto [packed_logp, packed_grad] = run(*model, packed, dlogp);
  EXPECT_LE(rel_diff(packed_logp, plain_logp), 1e-5);
  EXPECT_LE(rel_diff(packed_grad, plain_grad), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Architectures, Layouts, ::testing::Values("llama3_scaled_tied_bias", "qwen3"));

}  // namespace
}  // namespace tandem

#include <filesystem>

#include "data/toy_task.h"
#include "train/trainer.h"

namespace tandem {
namespace {

TEST(Layouts, TrainerEvaluatesTheSameWithAndWithoutPackingAndSharing) {
  const std::string dir = (std::filesystem::temp_directory_path() / "tandem_layouts").string();
  std::filesystem::remove_all(dir);
  ToyTaskOptions o;
  o.examples = 32;
  write_toy_task(dir, o);
  auto eval = [&](const std::string& packing, const std::string& sharing) {
    Trainer t(TrainConfig::from_toml_file(dir + "/train.toml", {"packing=" + packing, "prefix_sharing=" + sharing,
                                                                "reference_cache_dir=\"\"", "progress=false"}));
    return t.evaluate();
  };
  const EvalResult plain = eval("false", "false"), fast = eval("true", "true");
  EXPECT_NEAR(fast.f_sft, plain.f_sft, 1e-5 * plain.f_sft);
  EXPECT_NEAR(fast.f_dpo, plain.f_dpo, 1e-5);
}

}  // namespace
}  // namespace tandem
