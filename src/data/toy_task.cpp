#include "data/toy_task.h"

#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/rng.h"
#include "io/atomic_file.h"
#include "model/config.h"

namespace tandem {

namespace {
constexpr int kBos = 1, kSep = 2, kEos = 3, kSftMarker = 4, kPrefMarker = 5, kFirstSymbol = 10, kSymbols = 30,
              kVocab = 48;

void write_split(const std::string& dir, const std::string& suffix, int64_t n, Rng& rng) {
  std::ostringstream sft, pref;
  auto symbol = [&] { return kFirstSymbol + int(rng.below(kSymbols)); };
  for (int64_t i = 0; i < n; ++i) {
    const int a = symbol(), b = symbol(), c = symbol();
    sft << nlohmann::json{{"prompt_ids", {kBos, kSftMarker, a, b, c, kSep}}, {"completion_ids", {c, b, a, kEos}}}.dump()
        << "\n";
  }
  for (int64_t i = 0; i < n; ++i) {
    const int a = symbol(), b = symbol(), c = symbol();
    pref << nlohmann::json{{"prompt_ids", {kBos, kPrefMarker, a, b, c, kSep}},
                           {"chosen_ids", {a, b, c, kEos}},
                           {"rejected_ids", {c, b, a, kEos}}}
                .dump()
         << "\n";
  }
  write_file_atomic(dir + "/sft" + suffix + ".jsonl", sft.str());  // checked: a full disk is an error
  write_file_atomic(dir + "/preference" + suffix + ".jsonl", pref.str());
}
}  // namespace

nlohmann::json toy_model_config(const std::string& model_type, int64_t vocab, int64_t hidden_size, int64_t layers) {
  nlohmann::json j = {{"model_type", model_type},
                      {"vocab_size", vocab},
                      {"hidden_size", hidden_size},
                      {"intermediate_size", 2 * hidden_size},
                      {"num_hidden_layers", layers},
                      {"num_attention_heads", 4},
                      {"num_key_value_heads", 2},
                      {"max_position_embeddings", 64}};
  if (model_type == "gpt_neox") {  // Pythia's shape: no grouped-query attention, a 4x MLP, a quarter rotary
    j["num_key_value_heads"] = 4;
    j["intermediate_size"] = 4 * hidden_size;
    j["rotary_pct"] = 0.25;
    j["use_parallel_residual"] = true;
    j["hidden_act"] = "gelu";
  }
  if (model_type == "gemma" || model_type == "gemma2") j["head_dim"] = hidden_size / 4;
  if (model_type == "gemma2") j["query_pre_attn_scalar"] = hidden_size / 4;
  j["architectures"] = {ModelConfig::from_json(j, "toy config").architecture};  // an unknown family fails here
  return j;
}

void write_toy_task(const std::string& dir, const ToyTaskOptions& o) {
  std::filesystem::create_directories(dir);
  Rng rng(o.seed);
  write_split(dir, "", o.examples, rng);
  write_split(dir, "_eval", o.eval_examples, rng);
  {
    std::ostringstream pre;
    auto symbol = [&] { return kFirstSymbol + int(rng.below(kSymbols)); };
    // Both markers, both behaviours, half and half: the base can copy and reverse, and prefers neither.
    for (int64_t i = 0; i < o.pretrain_examples; ++i) {
      const int a = symbol(), b = symbol(), c = symbol();
      const int marker = rng.bernoulli(0.5) ? kSftMarker : kPrefMarker;
      const bool copy = rng.bernoulli(0.5);
      pre << nlohmann::json{{"prompt_ids", nlohmann::json::array()},
                            {"completion_ids", {kBos, marker, a, b, c, kSep, copy ? a : c, b, copy ? c : a, kEos}}}
                 .dump()
          << "\n";
    }
    write_file_atomic(dir + "/pretrain.jsonl", pre.str());
  }
  write_file_atomic(dir + "/config.json",
                    toy_model_config(o.model_type, kVocab, o.hidden_size, o.layers).dump(2) + "\n");
  const std::string abs = std::filesystem::absolute(dir).string();
  std::ostringstream pretrain_toml, train_toml;
  pretrain_toml << "# Pretraining of the toy task's base model (format only).\n"
                << "model_config = \"" << abs << "/config.json\"\n"
                << "sft_dataset = \"" << abs << "/pretrain.jsonl\"\n"
                << "output_dir = \"" << abs << "/pretrain\"\n"
                << "strategy = \"sft\"\n"
                << "max_steps = 300\n"
                << "per_device_train_batch_size = 32\n"
                << "learning_rate = 3e-3\n"
                << "warmup_steps = 10\n"
                << "eval_max_examples = 64\n";
  write_file_atomic(dir + "/pretrain.toml", pretrain_toml.str());
  train_toml << "# Toy reverse-vs-copy task written by `tandem toy-task`.\n"
             << "model_config = \"" << abs << "/config.json\"\n"
             << "sft_dataset = \"" << abs << "/sft.jsonl\"\n"
             << "preference_dataset = \"" << abs << "/preference.jsonl\"\n"
             << "sft_eval_dataset = \"" << abs << "/sft_eval.jsonl\"\n"
             << "preference_eval_dataset = \"" << abs << "/preference_eval.jsonl\"\n"
             << "reference_cache_dir = \"" << abs << "/cache\"\n"
             << "output_dir = \"" << abs << "/run\"\n"
             << "strategy = \"alright\"\n"
             << "lambda = 0.5\n"
             << "max_steps = 200\n"
             << "per_device_train_batch_size = 16\n"
             << "learning_rate = 3e-3\n"
             << "warmup_steps = 10\n"
             << "beta = 0.1\n"
             << "eval_steps = 20\n";
  write_file_atomic(dir + "/train.toml", train_toml.str());
}

}  // namespace tandem
