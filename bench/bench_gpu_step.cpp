// One training step of a published model's shape on a device (the CUDA backend by default), SFT or DPO, as one JSON
// line: tokens/s, MFU against a given peak, and the device's peak memory. scripts/device_check.sh runs it beside
// bench/torch_step_bench.py (PyTorch eager, HF transformers) on the same shapes and batch and prints the ratios.
//   bench_gpu_step --model qwen3-0.6b|llama-3.2-1b --objective sft|dpo [--batch 8 --seq 1024 --steps 10
//                  --device cuda --bf16 true --peak-tflops 790]
// As bench/torch_step_bench.py: SFT: batch rows of seq tokens, the first quarter of each row prompt (not scored).
// DPO: batch pairs, chosen and rejected run as one batch of 2 x batch rows (prompt a quarter of seq), the reference
// log-probs fixed, the sigmoid loss's gradient backpropagated once. Both clip the gradient norm to 1 and take an
// AdamW step; tokens/s counts every token of the step's rows.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "backends/devices.h"
#include "cli/args.h"
#include "data/collate.h"
#include "model/decoder_model.h"
#include "model/weights.h"
#include "objectives/objectives.h"
#include "optim/adamw.h"
#include "train/sft_step.h"

using namespace tandem;

namespace {

// Shapes from the published config.json files.
ModelConfig published(const std::string& name) {
  ModelConfig c;
  if (name == "qwen3-0.6b") {
    c.hidden_size = 1024, c.num_hidden_layers = 28, c.num_attention_heads = 16, c.num_key_value_heads = 8;
    c.head_dim = 128, c.intermediate_size = 3072, c.vocab_size = 151936, c.tie_word_embeddings = true;
    c.qk_norm = true, c.rope_theta = 1e6;
  } else if (name == "llama-3.2-1b") {
    c.hidden_size = 2048, c.num_hidden_layers = 16, c.num_attention_heads = 32, c.num_key_value_heads = 8;
    c.head_dim = 64, c.intermediate_size = 8192, c.vocab_size = 128256, c.tie_word_embeddings = true;
    c.rope_theta = 500000;
  } else {
    fail("--model ", name, ": expected qwen3-0.6b or llama-3.2-1b");
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args(argc - 1, argv + 1,
                    {"model", "objective", "batch", "seq", "steps", "device", "bf16", "peak-tflops", "recompute"});
    const std::string name = args.str("model", "qwen3-0.6b"), objective = args.str("objective", "sft");
    TANDEM_CHECK(objective == "sft" || objective == "dpo", "--objective ", objective, ": expected sft or dpo");
    const ModelConfig c = published(name);
    const int64_t B = args.integer("batch", 8), T = args.integer("seq", 1024), steps = args.integer("steps", 10);
    Backend& device = backend_for_device(args.str("device", "cuda"));

    DecoderModel model(c, device);
    Rng rng(0);
    init_random(model.weights(), rng);
    model.set_bf16(args.str("bf16", "true") == "true");
    model.set_recompute(args.str("recompute", "false") == "true");
    auto tokens = [&](int64_t n) {
      std::vector<int32_t> t(static_cast<size_t>(n));
      for (auto& x : t) x = int32_t(rng.below(uint64_t(c.vocab_size)));
      return t;
    };
    const int64_t prompt = T / 4;
    Batch batch(B, T);
    std::vector<PreferenceExample> pairs(static_cast<size_t>(objective == "dpo" ? B : 0));
    if (objective == "sft") {
      batch.tokens = tokens(B * T);
      for (int64_t b = 0; b < B; ++b) std::fill_n(batch.loss_mask.begin() + b * T + prompt, T - prompt, 1);
    } else {
      for (auto& p : pairs) p = {tokens(prompt), tokens(T - prompt), tokens(T - prompt)};
      std::vector<const PreferenceExample*> ptrs;
      for (const auto& p : pairs) ptrs.push_back(&p);
      batch = collate_preference(ptrs, {T, prompt});
    }
    const double tokens_per_step = double(batch.batch * T);

    AdamW opt({0.9, 0.999, 1e-8, 0.0});
    const auto params = model.trainable_params();
    PairLogps reference;
    for (size_t i = 0; i < pairs.size(); ++i) reference.chosen.push_back(-700.0), reference.rejected.push_back(-700.0);
    PreferenceConfig dpo;
    auto step = [&] {
      if (objective == "sft") return sft_train_step(model, batch, opt, params, 1e-5, 1.0).loss;
      model.zero_grads();
      const SequenceLogprobs lp = model.forward(batch);
      const size_t n = pairs.size();
      PairLogps policy;
      policy.chosen.assign(lp.logp.begin(), lp.logp.begin() + long(n));
      policy.rejected.assign(lp.logp.begin() + long(n), lp.logp.end());
      const PreferenceLoss loss = dpo_loss(policy, reference, dpo);
      std::vector<float> dlogp;
      for (double d : loss.d_chosen) dlogp.push_back(float(d));
      for (double d : loss.d_rejected) dlogp.push_back(float(d));
      model.backward(dlogp);
      const double norm = clip_grad_norm(params, 1.0);  // reads the norm back: the step's work is done
      opt.step(params, 1e-5, 1.0);
      (void)norm;
      return loss.loss;
    };
    step();  // warm-up: allocations, cuBLASLt heuristics
    step();
    double loss = 0;
    std::vector<double> times;
    for (int64_t s = 0; s < steps; ++s) {
      const auto a = std::chrono::steady_clock::now();
      loss = step();
      device.sum_squares(*params[0].value);  // waits for the optimizer's work on the device
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(times.begin(), times.end());
    const double secs = times[times.size() / 2];
    const double flops = 6.0 * double(c.num_parameters()) * tokens_per_step;  // the 6ND convention, as PyTorch's side
    const int64_t peak_bytes = device_peak_memory_bytes(device);  // -1: the backend does not track it
    const std::string peak_mib = peak_bytes < 0 ? "null" : std::to_string(double(peak_bytes) / (1 << 20));
    const double peak = std::stod(args.str("peak-tflops", "790")) * 1e12;
    std::printf("{\"impl\": \"tandem\", \"model\": \"%s\", \"objective\": \"%s\", \"device\": \"%s\", \"batch\": %lld, "
                "\"seq\": %lld, \"tokens_per_step\": %.0f, \"step_s\": %.5f, \"tokens_per_s\": %.1f, \"mfu\": %.4f, \"peak_memory_mib\": %s, "
                "\"loss\": %.5f}\n",
                name.c_str(), objective.c_str(), device.name().c_str(), (long long)B, (long long)T, tokens_per_step, secs,
                tokens_per_step / secs, flops / secs / peak, peak_mib.c_str(), loss);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu_step: %s\n", e.what());
    return 1;
  }
}
