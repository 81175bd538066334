// The toy conflicting task (SFT teaches reversing three tokens, the preference data prefers copying them) as a
// trainer config, and a run's logged metrics without their timings: shared by the trainer tests.
#pragma once
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/toy_task.h"

namespace tandem::testing {

namespace fs = std::filesystem;

// Writes the toy task (its model of family `model_type`) into a fresh folder and returns a config text that trains
// on it briefly.
inline std::string make_task(const std::string& name, const std::string& model_type = "llama") {
  const fs::path dir = fs::temp_directory_path() / ("tandem_trainer_" + name);
  fs::remove_all(dir);
  ToyTaskOptions o;
  o.examples = 64;
  o.eval_examples = 16;
  o.seed = 5;
  o.hidden_size = 32;
  o.model_type = model_type;
  write_toy_task(dir.string(), o);
  const std::string d = dir.string();
  return "model_config = \"" + d + "/config.json\"\nsft_dataset = \"" + d + "/sft.jsonl\"\npreference_dataset = \"" +
         d + "/preference.jsonl\"\nreference_cache_dir = \"" + d + "/cache\"\noutput_dir = \"" + d + "/run\"\n" +
         "max_steps = 12\nper_device_train_batch_size = 4\nlearning_rate = 3e-3\nwarmup_steps = 2\n" +
         "eval_max_examples = 16\nprogress = false\n";
}

inline std::vector<nlohmann::json> metrics(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* timing : {"step_seconds", "step_cpu_seconds", "train_seconds", "peak_memory_mib"}) j.erase(timing);
    out.push_back(j);
  }
  return out;
}

}  // namespace tandem::testing
