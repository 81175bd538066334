// A tiny task on which sequential post-training visibly forgets: prompts "<bos> a b c <sep>"; the SFT data
// answers "c b a <eos>" (reverse) while the preference data prefers "a b c <eos>" (copy) over the reverse.
// The two objectives conflict directly, so DPO after SFT undoes SFT. Used by tests, the demo and the README.
#pragma once
#include <cstdint>
#include <string>

namespace tandem {

struct ToyTaskOptions {
  int64_t examples = 400;      // per dataset
  int64_t eval_examples = 64;  // per held-out dataset
  uint64_t seed = 0;
  int64_t hidden_size = 64, layers = 2;
};

// Writes sft.jsonl, preference.jsonl, sft_eval.jsonl, preference_eval.jsonl, config.json (a tiny Llama) and
// train.toml (a working config for them) into dir.
void write_toy_task(const std::string& dir, const ToyTaskOptions& options = {});

}  // namespace tandem
