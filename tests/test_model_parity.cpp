// The whole model against PyTorch: tests/reference/make_reference.py builds random tiny Llama / Llama-3.1
// (rope scaling, tied, biased) / Mistral / Qwen2 / Qwen3 / GPT-NeoX (parallel and sequential residual) / Gemma /
// Gemma-2 / Phi-3 models and computes, in float64 from the same fp32
// weights, the logits, per-token and per-sequence log-probs, and every parameter's gradient of
// sum_b c_b * logp_b. Tandem computes in fp32; the tolerance is relative to each tensor's largest magnitude.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "io/hf_checkpoint.h"
#include "io/safetensors.h"
#include "model/tensor_table.h"
#include "reference_data.h"

namespace tandem {
namespace {

// fp32 arithmetic over these sizes (d = 32, 2 layers, vocab 96) stays within ~1e-6 of float64; 1e-5 leaves
// room for summation order while any real error (a wrong sign, scale or index) is orders of magnitude larger.
constexpr double kTol = 1e-5;

std::string reference_dir(const std::string& variant) {
  return std::string(TANDEM_REFERENCE_DIR) + "/" + variant;
}

using testing::max_relative_error;
using testing::reference_batch;

// 1 at every logit of a real (non-padding) position: PyTorch's padding rows do attend, ours are zeroed.
std::vector<uint8_t> real_positions(const Batch& batch, int64_t vocab) {
  std::vector<uint8_t> real(size_t(batch.batch * batch.seq * vocab), 0);
  for (int64_t b = 0; b < batch.batch; ++b)
    for (int64_t t = 0; t < batch.lengths[b]; ++t) std::fill_n(real.begin() + (b * batch.seq + t) * vocab, vocab, 1);
  return real;
}

// Every parameter's gradient in its checkpoint layout (GPT-NeoX's query_key_value rows per head), as PyTorch has it.
template <typename Fn>
void for_each_gradient(DecoderModel& model, Fn&& fn) {
  const ModelWeights& g = model.grads();
  for (const ParamInfo& p : g.params) fn(to_checkpoint_layout(g.param(p), p.interleaved_heads));
}

class ModelParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelParity, LogitsLogprobsAndGradientsMatchPyTorch) {
  const std::string dir = reference_dir(GetParam());
  ASSERT_TRUE(std::filesystem::exists(dir + "/expected.safetensors"))
      << "missing " << dir << ": run tests/reference/make_reference.py (make test does)";
  const SafetensorsFile expected(dir + "/expected.safetensors");
  auto model = load_model(dir);
  const Batch batch = reference_batch(expected);

  // Logits at every real position.
  const std::vector<float> logits = model->logits(batch);
  const std::vector<uint8_t> real = real_positions(batch, model->config().vocab_size);
  EXPECT_LE(max_relative_error(logits.data(), expected.load("logits"), &real), kTol) << "logits";

  const std::vector<float> coef_d = expected.load("coef").to_floats();
  const std::vector<float> coef(coef_d.begin(), coef_d.end());

  // Three ways to the same gradient: forward+backward, the fused one-pass path with a small LM-head chunk,
  // and activation recomputation.
  for (int mode = 0; mode < 3; ++mode) {
    SCOPED_TRACE(mode == 0 ? "forward+backward" : mode == 1 ? "fused, 4-row logit chunks" : "recompute");
    model->set_logits_chunk_rows(mode == 1 ? 4 : 0);
    model->set_recompute(mode == 2);
    model->zero_grads();
    SequenceLogprobs out;
    if (mode == 1) {
      out = model->forward_backward(batch, coef);
    } else {
      out = model->forward(batch);
      model->backward(coef);
    }
    EXPECT_LE(max_relative_error(out.token_logp.data(), expected.load("token_logp")), kTol) << "token_logp";
    const Tensor seq = expected.load("seq_logp");
    for (int64_t b = 0; b < batch.batch; ++b) {
      EXPECT_NEAR(out.logp[b], seq.ptr()[b], kTol * std::abs(seq.ptr()[b])) << "seq_logp[" << b << "]";
      int64_t scored = 0;
      for (int64_t t = 1; t < batch.seq; ++t) scored += batch.loss_mask[b * batch.seq + t];
      EXPECT_EQ(out.tokens[b], scored);
    }
    int checked = 0;
    for_each_gradient(*model, [&](const Tensor& g) {
      EXPECT_LE(max_relative_error(g.ptr(), expected.load("grad." + g.name)), kTol) << "grad of " << g.name;
      ++checked;
    });
    EXPECT_EQ(checked, int(expected.names().size()) - 7) << "every parameter's gradient is compared";
  }
}

#define TANDEM_REFERENCE_VARIANTS                                                                          \
  ::testing::Values("llama_gqa", "llama3_scaled_tied_bias", "mistral", "qwen2", "qwen3", "gpt_neox_parallel", \
                    "gpt_neox_sequential", "gemma", "gemma2", "phi3")
INSTANTIATE_TEST_SUITE_P(Architectures, ModelParity, TANDEM_REFERENCE_VARIANTS);

// bf16 training against PyTorch CPU autocast(bfloat16) on the same bf16 weights (read from a BF16 safetensors
// file). Both round matmul inputs and outputs to bf16 with fp32 accumulation and keep the residual stream, norms and
// softmax in fp32; they differ in where a few roundings happen (PyTorch also rounds the attention scores, the logits
// and the gradients of its bf16 matmuls; Tandem keeps those fp32), so the bounds are bf16-sized, relative to each
// tensor's largest magnitude, with measured worst cases over the ten variants in brackets (Gemma-2's soft caps and
// output norms add roundings, hence its larger logit error):
constexpr double kBf16LogitTol = 2e-2;  // [logits 1.8e-2 (gemma2), 1.3e-2 for the others]
constexpr double kBf16LogpTol = 2e-2;   // [per-token log-probs 7.7e-3, per-sequence sums 2.1e-3]
constexpr double kBf16GradTol = 6e-2;   // [parameter gradients 3.0e-2]

class ModelParityBf16 : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelParityBf16, LogitsLogprobsAndGradientsMatchPyTorchAutocast) {
  const std::string dir = reference_dir(GetParam() + "_bf16");
  ASSERT_TRUE(std::filesystem::exists(dir + "/expected.safetensors"))
      << "missing " << dir << ": run tests/reference/make_reference.py (make test does)";
  const SafetensorsFile expected(dir + "/expected.safetensors");
  auto model = load_model(dir, DType::kBF16);
  ASSERT_EQ(model->weights().embed.dtype(), DType::kBF16);
  const Batch batch = reference_batch(expected);

  const std::vector<float> logits = model->logits(batch);
  const std::vector<uint8_t> real = real_positions(batch, model->config().vocab_size);
  const double logit_err = max_relative_error(logits.data(), expected.load("logits"), &real);
  EXPECT_LE(logit_err, kBf16LogitTol) << "logits";

  const std::vector<float> coef = expected.load("coef").to_floats();
  model->zero_grads();
  const SequenceLogprobs out = model->forward(batch);
  model->backward(coef);
  const double token_err = max_relative_error(out.token_logp.data(), expected.load("token_logp"));
  EXPECT_LE(token_err, kBf16LogpTol) << "token_logp";
  const std::vector<float> seq = expected.load("seq_logp").to_floats();
  double seq_err = 0;
  for (int64_t b = 0; b < batch.batch; ++b) seq_err = std::max(seq_err, std::abs(out.logp[b] - seq[b]) / std::abs(seq[b]));
  EXPECT_LE(seq_err, kBf16LogpTol) << "seq_logp";
  double grad_err = 0;
  int checked = 0;
  for_each_gradient(*model, [&](const Tensor& g) {
    ASSERT_EQ(g.dtype(), DType::kF32) << g.name;
    const double e = max_relative_error(g.ptr(), expected.load("grad." + g.name));
    EXPECT_LE(e, kBf16GradTol) << "grad of " << g.name;
    grad_err = std::max(grad_err, e);
    ++checked;
  });
  EXPECT_EQ(checked, int(expected.names().size()) - 7) << "every parameter's gradient is compared";
  RecordProperty("logits_err", std::to_string(logit_err));
  RecordProperty("token_logp_err", std::to_string(token_err));
  RecordProperty("seq_logp_err", std::to_string(seq_err));
  RecordProperty("grad_err", std::to_string(grad_err));
  std::printf("bf16 %s: logits %.2e token_logp %.2e seq_logp %.2e grads %.2e\n", GetParam().c_str(), logit_err,
              token_err, seq_err, grad_err);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ModelParityBf16, TANDEM_REFERENCE_VARIANTS);

}  // namespace
}  // namespace tandem
