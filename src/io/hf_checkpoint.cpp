#include "io/hf_checkpoint.h"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace tandem {

namespace fs = std::filesystem;

void load_tensors(const std::string& model_dir, const std::vector<std::pair<std::string, Tensor*>>& wanted) {
  const fs::path dir(model_dir);
  // name -> shard file
  std::map<std::string, std::string> where;
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    const nlohmann::json j = read_json_file(index.string());
    TANDEM_CHECK(j.contains("weight_map") && j["weight_map"].is_object(), index.string(), ": missing weight_map");
    for (const auto& [name, file] : j["weight_map"].items()) where[name] = (dir / file.get<std::string>()).string();
  } else {
    const fs::path single = dir / "model.safetensors";
    TANDEM_CHECK(fs::exists(single), model_dir, ": neither model.safetensors nor model.safetensors.index.json found");
    SafetensorsFile f(single.string());
    for (const auto& name : f.names()) where[name] = single.string();
  }

  std::map<std::string, std::unique_ptr<SafetensorsFile>> open;
  for (const auto& [name, t] : wanted) {
    auto it = where.find(name);
    TANDEM_CHECK(it != where.end(), model_dir, ": checkpoint has no tensor ", name);
    auto& file = open[it->second];
    if (!file) file = std::make_unique<SafetensorsFile>(it->second);
    Tensor loaded = file->load(name);
    TANDEM_CHECK(loaded.shape == t->shape, it->second, ": tensor ", name, " has shape ", shape_str(loaded.shape),
                 ", the config expects ", shape_str(t->shape));
    t->take_values(std::move(loaded));
  }
}

void load_weights(ModelWeights& weights, const std::string& model_dir) {
  std::vector<std::pair<std::string, Tensor*>> wanted;
  for_each_tensor(weights, [&](Tensor& t) { wanted.emplace_back(t.name, &t); });
  load_tensors(model_dir, wanted);
}

std::unique_ptr<LlamaModel> load_model(const std::string& model_dir, DType dtype) {
  const ModelConfig config = ModelConfig::from_file((fs::path(model_dir) / "config.json").string());
  auto model = std::make_unique<LlamaModel>(config, cpu_backend(), dtype);
  load_weights(model->weights(), model_dir);
  return model;
}

void save_model(const LlamaModel& model, const std::string& model_dir, bool bf16) {
  bf16 = bf16 || model.bf16();
  fs::create_directories(model_dir);
  std::vector<const Tensor*> tensors;
  for_each_tensor(model.weights(), [&](const Tensor& t) { tensors.push_back(&t); });
  save_safetensors((fs::path(model_dir) / "model.safetensors").string(), tensors, {{"format", "pt"}}, bf16);
  nlohmann::json cfg = model.config().to_json();
  cfg["torch_dtype"] = bf16 ? "bfloat16" : "float32";
  write_file_atomic((fs::path(model_dir) / "config.json").string(), cfg.dump(2) + "\n");
}

}  // namespace tandem
