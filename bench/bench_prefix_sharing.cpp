// DPO forward+backward with and without prefix sharing (chosen and rejected after one copy of their prompt), same
// pairs, same model, same run; prints both times and the speed-up as one JSON line.
#include <omp.h>

#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "data/collate.h"
#include "model/decoder_model.h"

using namespace tandem;

int main(int argc, char** argv) {
  try {
    const Args args(argc - 1, argv + 1, {"hidden", "layers", "vocab", "pairs", "prompt", "response", "reps"});
    ModelConfig c;
    c.hidden_size = args.integer("hidden", 256);
    c.num_hidden_layers = args.integer("layers", 4);
    c.num_attention_heads = 8;
    c.num_key_value_heads = 4;
    c.head_dim = c.hidden_size / 8;
    c.intermediate_size = c.hidden_size * 11 / 4;
    c.vocab_size = args.integer("vocab", 8192);
    const int64_t pairs = args.integer("pairs", 4), prompt = args.integer("prompt", 192),
                  response = args.integer("response", 64), reps = args.integer("reps", 3);
    DecoderModel model(c);
    Rng rng(0);
    init_random(model.weights(), rng);
    std::vector<PreferenceExample> data(pairs);
    auto tokens = [&](int64_t n) {
      std::vector<int32_t> t(n);
      for (auto& x : t) x = int32_t(rng.below(uint64_t(c.vocab_size)));
      return t;
    };
    for (auto& e : data) e = {tokens(prompt), tokens(response), tokens(response)};
    std::vector<const PreferenceExample*> ptrs;
    for (const auto& e : data) ptrs.push_back(&e);
    const Truncation trunc{prompt + response, prompt};
    auto time = [&](const Batch& b) {
      const std::vector<float> dlogp(2 * pairs, 0.1f);
      double best = 1e30;
      for (int64_t r = 0; r < reps + 1; ++r) {  // the first pass warms up allocations
        const auto t0 = std::chrono::steady_clock::now();
        model.zero_grads();
        model.forward(b);
        model.backward(dlogp);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (r > 0) best = std::min(best, s);
      }
      return best;
    };
    const double plain = time(collate_preference(ptrs, trunc)), shared = time(collate_preference_shared(ptrs, trunc));
    std::printf("{\"pairs\": %lld, \"prompt\": %lld, \"response\": %lld, \"threads\": %d, \"unshared_s\": %.4f, "
                "\"shared_s\": %.4f, \"speedup\": %.2f}\n",
                (long long)pairs, (long long)prompt, (long long)response, omp_get_max_threads(), plain, shared,
                plain / shared);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_prefix_sharing: %s\n", e.what());
    return 1;
  }
}
