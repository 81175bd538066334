// Paired A/B of two builds of the tokenizer in one process (bench/tokenizer_ab.sh): passes alternate between them,
// each from a fresh copy of its loaded tokenizer (an empty piece cache), over the bench text in 200-line chunks.
// On a shared machine the load swings by tens of percent within seconds; pairing pass by pass and timing thread
// CPU lets both sides see the same conditions. Prints each side's median MB/s and the median of per-round ratios.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../text_chunks.h"

void* a_load(const std::string&);
void* a_copy(const void*);
size_t a_encode(const void*, std::string_view);
void a_free(void*);
void* b_load(const std::string&);
void* b_copy(const void*);
size_t b_encode(const void*, std::string_view);
void b_free(void*);

namespace {
double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: tokenizer_ab TOKENIZER_JSON TEXT [ROUNDS]\n");
    return 2;
  }
  std::ifstream file(argv[2]);
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string text = buffer.str();
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 15;
  const std::vector<std::string> chunks = text_chunks(text, 200);
  void* const a = a_load(argv[1]);
  void* const b = b_load(argv[1]);
  std::vector<double> seconds_a, seconds_b, speedup;
  size_t tokens_a = 0, tokens_b = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < 2; ++k) {
      const bool side_a = (r + k) % 2 == 0;  // which side goes first alternates too
      void* t = side_a ? a_copy(a) : b_copy(b);
      const double t0 = thread_cpu_seconds();
      size_t tokens = 0;
      for (const auto& chunk : chunks) tokens += side_a ? a_encode(t, chunk) : b_encode(t, chunk);
      (side_a ? seconds_a : seconds_b).push_back(thread_cpu_seconds() - t0);
      (side_a ? tokens_a : tokens_b) = tokens;
      side_a ? a_free(t) : b_free(t);
    }
    speedup.push_back(seconds_a.back() / seconds_b.back());
  }
  std::printf("A %.1f MB/s   B %.1f MB/s   B/A speed: %.3f (median of %d per-round ratios)   tokens %zu / %zu%s\n",
              double(text.size()) / median(seconds_a) / 1e6, double(text.size()) / median(seconds_b) / 1e6,
              median(speedup), rounds, tokens_a, tokens_b, tokens_a == tokens_b ? "" : "   TOKEN COUNTS DIFFER");
  a_free(a);
  b_free(b);
  return tokens_a == tokens_b ? 0 : 1;
}
