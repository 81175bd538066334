// Times one training step (forward + backward + AdamW, SFT loss over every token) of a configurable
// Llama (fp32, or bf16 with --bf16) and prints tokens/s, GFLOP/s and peak resident memory as one JSON line. bench/run_bench.sh runs it next to the same step in
// PyTorch eager and prints the ratio.
#include <omp.h>
#include <sys/resource.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "backends/profiling.h"
#include "cli/args.h"
#include "core/gemm.h"
#include "model/memory_plan.h"
#include "train/sft_step.h"

using namespace tandem;

int main(int argc, char** argv) {
  try {
    const Args args(argc - 1, argv + 1,
                    {"hidden", "layers", "heads", "kv-heads", "head-dim", "ffn", "vocab", "batch", "seq", "steps",
                     "recompute", "logits-chunk", "tied", "qk-norm", "bf16", "profile"});
    ModelConfig c;
    c.hidden_size = args.integer("hidden", 512);
    c.num_hidden_layers = args.integer("layers", 6);
    c.num_attention_heads = args.integer("heads", 8);
    c.num_key_value_heads = args.integer("kv-heads", c.num_attention_heads);
    c.head_dim = args.integer("head-dim", c.hidden_size / c.num_attention_heads);
    c.tie_word_embeddings = args.str("tied", "false") == "true";
    c.qk_norm = args.str("qk-norm", "false") == "true";
    c.intermediate_size = args.integer("ffn", 1376);
    c.vocab_size = args.integer("vocab", 32000);
    const int64_t B = args.integer("batch", 4), T = args.integer("seq", 256), steps = args.integer("steps", 5);

    // --profile: every op timed (backends/profiling.h); the report follows the JSON line.
    const bool profile = args.str("profile", "false") == "true";
    ProfilingBackend profiler(cpu_backend());
    DecoderModel model(c, profile ? static_cast<Backend&>(profiler) : cpu_backend());
    model.set_recompute(args.str("recompute", "false") == "true");
    model.set_logits_chunk_rows(args.integer("logits-chunk", 0));
    Rng rng(0);
    init_random(model.weights(), rng);
    model.set_bf16(args.str("bf16", "false") == "true");
    Batch batch(B, T);
    for (auto& t : batch.tokens) t = int32_t(rng.below(uint64_t(c.vocab_size)));
    for (int64_t b = 0; b < B; ++b) std::fill_n(batch.loss_mask.begin() + b * T + 1, T - 1, 1);

    AdamW opt({0.9, 0.95, 1e-8, 0.1});
    const auto params = model.trainable_params();
    sft_train_step(model, batch, opt, params, 1e-4, 1.0);  // warm-up: allocations, page faults
    profiler.reset();  // the warm-up step is not timed
    timespec cpu0{}, cpu1{};  // the main thread's CPU time: robust to other load when OMP_WAIT_POLICY=passive
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < steps; ++s) sft_train_step(model, batch, opt, params, 1e-4, 1.0);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(steps);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    const double cpu_secs =
        (double(cpu1.tv_sec - cpu0.tv_sec) + 1e-9 * double(cpu1.tv_nsec - cpu0.tv_nsec)) / double(steps);

    // Model FLOPs: 6 per matmul parameter per token (the embedding lookup is not a matmul), plus causal
    // attention's score and value products (half of 12 * layers * heads * head_dim * T per token).
    const double matmul_params = double(c.num_parameters() - c.vocab_size * c.hidden_size);
    const double tokens = double(B * T);
    const double flops = tokens * (6.0 * matmul_params + 6.0 * double(c.num_hidden_layers * c.num_attention_heads *
                                                                       c.head_dim * T));
    StepShape shape;  // what the memory plan (model/memory_plan.h) expects this step to hold
    shape.batch = B, shape.seq = T, shape.dtype = model.dtype(), shape.recompute = args.str("recompute", "false") == "true";
    shape.logits_chunk_rows = args.integer("logits-chunk", 0);
    const StepMemory plan = plan_step_memory(c, shape);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("{\"impl\": \"tandem\", \"dtype\": \"%s\", \"threads\": %d, \"seconds_per_step\": %.4f, "
                "\"main_thread_cpu_s\": %.4f, \"tokens_per_s\": %.1f, \"gflops\": %.2f, \"activation_mb\": %.1f, "
                "\"peak_rss_mb\": %.1f, \"planned_mb\": %.1f, \"gemm\": \"%s\"}\n",
                dtype_str(model.dtype()), omp_get_max_threads(), secs, cpu_secs, tokens / secs, flops / secs / 1e9,
                double(model.activation_bytes()) / 1e6, double(usage.ru_maxrss) / 1024.0, double(plan.total()) / (1 << 20),
                gemm_backend_info().c_str());
    if (profile) profiler.report(secs, steps);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_step: %s\n", e.what());
    return 1;
  }
}
