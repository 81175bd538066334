// A tiny task on which sequential post-training visibly forgets. Prompts are "<bos> <marker> a b c <sep>" over 30
// symbols. SFT data (marker <sft>) answers "c b a <eos>" (reverse); preference data (marker <pref>) prefers
// "a b c <eos>" (copy) over the reverse. A model can satisfy both (reverse after <sft>, copy after <pref>), but
// DPO pushes "reverse" down everywhere, so DPO after SFT undoes SFT. The pretraining corpus teaches a base that
// copies or reverses at random after either marker. Used by tests, the demo and the README.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace tandem {

struct ToyTaskOptions {
  int64_t examples = 400;      // per dataset
  int64_t pretrain_examples = 3000;  // copies and reversals, half and half, after either marker
  int64_t eval_examples = 64;  // per held-out dataset
  uint64_t seed = 0;
  int64_t hidden_size = 64, layers = 2;
  std::string model_type = "llama";  // the family of the task's model (any of model/architectures.h)
};

// The config.json of the toy task's tiny model of family `model_type` (4 heads; GPT-NeoX shaped as Pythia:
// rotary_pct 0.25, parallel residual, a 4x MLP).
nlohmann::json toy_model_config(const std::string& model_type, int64_t vocab, int64_t hidden_size, int64_t layers);

// Writes sft.jsonl, preference.jsonl, sft_eval.jsonl, preference_eval.jsonl, pretrain.jsonl, config.json (a tiny
// Llama), pretrain.toml (pretrains a base that knows the answer format but neither task) and train.toml (joint
// training from a random init; the demo points it at the pretrained base instead).
void write_toy_task(const std::string& dir, const ToyTaskOptions& options = {});

}  // namespace tandem
