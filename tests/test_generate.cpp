// Generation: KV-cached decoding gives the logits of a full forward pass at every position (prefill in one pass
// and token by token), greedy decoding is argmax, sampling is reproducible from its seed, stop tokens stop.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "io/hf_checkpoint.h"
#include "model/generate.h"

namespace tandem {
namespace {

class CachedDecoding : public ::testing::TestWithParam<std::string> {};

TEST_P(CachedDecoding, MatchesFullForwardAtEveryPosition) {
  const std::string dir = std::string(TANDEM_REFERENCE_DIR) + "/" + GetParam();
  auto model = load_model(dir);
  if (GetParam().starts_with("lora")) model->set_lora(load_peft_adapter(dir + "/adapter", model->config()));
  const int64_t V = model->config().vocab_size, T = 10;
  Batch batch(1, T);
  Rng rng(3);
  for (auto& t : batch.tokens) t = int32_t(rng.below(uint64_t(V)));
  const std::vector<float> full = model->logits(batch);
  double scale = 0;
  for (float v : full) scale = std::max(scale, double(std::abs(v)));

  KvDecoder prefill(*model, T), stepwise(*model, T);
  const std::vector<float> all = prefill.feed(batch.tokens);
  for (int64_t t = 0; t < T; ++t) {
    const std::vector<float> one = stepwise.feed({batch.tokens[t]});
    for (int64_t v = 0; v < V; ++v) {
      EXPECT_NEAR(all[t * V + v], full[t * V + v], 1e-5 * scale) << "prefill, position " << t;
      EXPECT_NEAR(one[v], full[t * V + v], 1e-5 * scale) << "step by step, position " << t;
    }
  }
  EXPECT_EQ(stepwise.length(), T);
}

// Every family's reference model; Gemma-2's window of 4 is shorter than the 10 positions, so decoding's window is
// checked against training's.
INSTANTIATE_TEST_SUITE_P(Architectures, CachedDecoding,
                         ::testing::Values("llama_gqa", "llama3_scaled_tied_bias", "mistral", "qwen2", "qwen3",
                                           "gpt_neox_parallel", "gpt_neox_sequential", "gemma", "gemma2", "phi3",
                                           "lora", "lora_gpt_neox"));

TEST(Generate, GreedyIsArgmaxSamplingIsSeededStopTokensStop) {
  auto model = load_model(std::string(TANDEM_REFERENCE_DIR) + "/qwen2");
  const std::vector<int32_t> prompt = {5, 17, 42, 8};
  GenerationConfig greedy;
  greedy.max_new_tokens = 6;
  Rng rng(0);
  const std::vector<int32_t> out = generate(*model, prompt, greedy, rng);
  ASSERT_EQ(out.size(), 6u);
  // Each greedy token is the argmax of a full forward over everything before it.
  std::vector<int32_t> seq = prompt;
  for (int32_t t : out) {
    Batch b(1, int64_t(seq.size()));
    b.tokens = seq;
    const std::vector<float> logits = model->logits(b);
    const float* last = logits.data() + (seq.size() - 1) * model->config().vocab_size;
    EXPECT_EQ(t, std::max_element(last, last + model->config().vocab_size) - last);
    seq.push_back(t);
  }
  GenerationConfig sampled = greedy;
  sampled.temperature = 1.0;
  sampled.top_k = 20;
  sampled.top_p = 0.9;
  Rng a(7), b(7);
  EXPECT_EQ(generate(*model, prompt, sampled, a), generate(*model, prompt, sampled, b));
  // Stopping on the last token: generation ends at that token's first occurrence, which it includes.
  GenerationConfig stop = greedy;
  stop.stop_tokens = {out.back()};
  const auto first = std::find(out.begin(), out.end(), out.back());
  Rng c(0);
  EXPECT_EQ(generate(*model, prompt, stop, c), std::vector<int32_t>(out.begin(), first + 1));
}

}  // namespace
}  // namespace tandem
