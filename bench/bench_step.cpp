// Times one training step (forward + backward + AdamW, SFT loss over every token) of a configurable
// Llama and prints tokens/s and GFLOP/s as one JSON line. bench/run_bench.sh runs it next to the same step in
// PyTorch eager and prints the ratio.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "core/gemm.h"
#include "train/sft_step.h"

using namespace tandem;

int main(int argc, char** argv) {
  try {
    const Args args(argc - 1, argv + 1,
                    {"hidden", "layers", "heads", "kv-heads", "ffn", "vocab", "batch", "seq", "steps", "recompute",
                     "logits-chunk"});
    ModelConfig c;
    c.hidden_size = args.integer("hidden", 512);
    c.num_hidden_layers = args.integer("layers", 6);
    c.num_attention_heads = args.integer("heads", 8);
    c.num_key_value_heads = args.integer("kv-heads", c.num_attention_heads);
    c.head_dim = c.hidden_size / c.num_attention_heads;
    c.intermediate_size = args.integer("ffn", 1376);
    c.vocab_size = args.integer("vocab", 32000);
    const int64_t B = args.integer("batch", 4), T = args.integer("seq", 256), steps = args.integer("steps", 5);

    LlamaModel model(c);
    model.set_recompute(args.str("recompute", "false") == "true");
    model.set_logits_chunk_rows(args.integer("logits-chunk", 0));
    Rng rng(0);
    init_random(model.weights(), rng);
    Batch batch(B, T);
    for (auto& t : batch.tokens) t = int32_t(rng.below(uint64_t(c.vocab_size)));
    for (int64_t b = 0; b < B; ++b) std::fill_n(batch.loss_mask.begin() + b * T + 1, T - 1, 1);

    AdamW opt({0.9, 0.95, 1e-8, 0.1});
    const auto params = model.trainable_params();
    sft_train_step(model, batch, opt, params, 1e-4, 1.0);  // warm-up: allocations, page faults
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < steps; ++s) sft_train_step(model, batch, opt, params, 1e-4, 1.0);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(steps);

    // Model FLOPs: 6 per matmul parameter per token (the embedding lookup is not a matmul), plus causal
    // attention's score and value products (half of 12 * layers * heads * head_dim * T per token).
    const double matmul_params = double(c.num_parameters() - c.vocab_size * c.hidden_size);
    const double tokens = double(B * T);
    const double flops = tokens * (6.0 * matmul_params + 6.0 * double(c.num_hidden_layers * c.num_attention_heads *
                                                                       c.head_dim * T));
    std::printf("{\"impl\": \"tandem\", \"threads\": %d, \"seconds_per_step\": %.4f, \"tokens_per_s\": %.1f, "
                "\"gflops\": %.2f, \"activation_mb\": %.1f, \"gemm\": \"%s\"}\n",
                omp_get_max_threads(), secs, tokens / secs, flops / secs / 1e9,
                double(model.activation_bytes()) / 1e6, gemm_backend_info().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_step: %s\n", e.what());
    return 1;
  }
}
