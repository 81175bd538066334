// `tandem demo --testbed words`: the natural-language testbed (data/words_testbed.h) end to end.
#pragma once
#include <string>

#include "data/words_testbed.h"

namespace tandem {

struct DemoPaths {
  std::string out, cache, lambdas, seeds, methods;  // methods: "" = the sweep's default (all four)
  std::string jobs = "1";                           // the sweep's --jobs: training runs side by side
};

// Writes the data into out/task, trains the tokenizer and pretrains the base (both cached under `cache`), sweeps
// every method from that base, and writes out/report.html. Returns the sweep's exit code.
int run_words_demo(const DemoPaths& paths, const WordsTestbedOptions& options);

}  // namespace tandem
