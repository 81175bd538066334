// Encoding throughput of Tandem's BPE on a text file in 200-line chunks (as bench/run_tokenizer_bench.sh has
// the Hugging Face library do), best of 3 passes, printed as one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "io/atomic_file.h"
#include "text_chunks.h"
#include "tokenizer/bpe_tokenizer.h"

using namespace tandem;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_tokenizer TOKENIZER_JSON TEXT_FILE\n");
    return 2;
  }
  try {
    const BpeTokenizer tok = BpeTokenizer::from_file(argv[1]);
    const std::string text = read_file(argv[2]);
    const std::vector<std::string> chunks = text_chunks(text, 200);  // as the Hugging Face side is timed
    int64_t tokens = 0;
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {  // best of 3; the first pass also warms the piece cache, as HF's does
      const BpeTokenizer fresh = BpeTokenizer::from_file(argv[1]);
      const auto t0 = std::chrono::steady_clock::now();
      tokens = 0;
      for (const auto& chunk : chunks) tokens += int64_t(fresh.encode(chunk).size());
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("{\"impl\": \"tandem\", \"bytes\": %zu, \"seconds\": %.4f, \"tokens\": %lld, \"mb_per_s\": %.2f}\n",
                text.size(), best, (long long)tokens, double(text.size()) / best / 1e6);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_tokenizer: %s\n", e.what());
    return 1;
  }
}
