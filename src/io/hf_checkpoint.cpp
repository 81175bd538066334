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

namespace {

// The shard file of every tensor model.safetensors.index.json lists. Shards are file names inside the model folder:
// an absolute path or a ".." component would let a downloaded index read any file on the machine, so both are
// errors. Symlinks are followed: the Hugging Face cache links a snapshot's shards into its blob store.
std::map<std::string, std::string> read_shard_index(const fs::path& dir, const fs::path& index) {
  const std::string file = index.string();
  const nlohmann::json j = read_json_file(file);
  TANDEM_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(), file,
               ": missing weight_map (an object of tensor name -> shard file)");
  std::map<std::string, std::string> where;
  std::map<std::string, bool> shard_exists;
  for (const auto& [name, shard] : j["weight_map"].items()) {
    const std::string what = file + ": weight_map: tensor " + name;
    TANDEM_CHECK(shard.is_string(), what, " has shard ", json_excerpt(shard), ", not a file name");
    const std::string rel = shard.get<std::string>();
    const fs::path path(rel);
    TANDEM_CHECK(!rel.empty() && rel.find('\0') == std::string::npos, what, " has an empty or invalid shard name");
    TANDEM_CHECK(path.is_relative() && !path.has_root_name() && !path.has_root_directory(), what, " has shard '",
                 rel, "', an absolute path; shards must lie inside the model folder");
    for (const auto& part : path)
      TANDEM_CHECK(part != "..", what, " has shard '", rel, "', which leaves the model folder (\"..\")");
    const fs::path full = dir / path;
    auto [it, first] = shard_exists.emplace(rel, false);
    if (first) {
      std::error_code ec;
      it->second = fs::is_regular_file(full, ec);
    }
    TANDEM_CHECK(it->second, what, " is in shard '", rel, "', which does not exist in ", dir.string());
    where[name] = full.string();
  }
  return where;
}

}  // namespace

void load_tensors(const std::string& model_dir, const std::vector<TensorRequest>& wanted) {
  const fs::path dir(model_dir);
  // name -> shard file
  std::map<std::string, std::string> where;
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    where = read_shard_index(dir, index);
  } else {
    const fs::path single = dir / "model.safetensors";
    TANDEM_CHECK(fs::exists(single), model_dir, ": neither model.safetensors nor model.safetensors.index.json found");
    SafetensorsFile f(single.string());
    for (const auto& name : f.names()) where[name] = single.string();
  }

  std::map<std::string, std::unique_ptr<SafetensorsFile>> open;
  for (const auto& [name, t, interleaved_heads] : wanted) {
    auto it = where.find(name);
    TANDEM_CHECK(it != where.end(), model_dir, ": checkpoint has no tensor ", name);
    auto& file = open[it->second];
    if (!file) file = std::make_unique<SafetensorsFile>(it->second);
    Tensor loaded = file->load(name);
    TANDEM_CHECK(loaded.shape == t->shape, it->second, ": tensor ", name, " has shape ", shape_str(loaded.shape),
                 ", the config expects ", shape_str(t->shape));
    t->take_values(from_checkpoint_layout(std::move(loaded), interleaved_heads));
  }
}

void load_weights(ModelWeights& weights, const std::string& model_dir) {
  std::vector<TensorRequest> wanted;
  for (const ParamInfo& p : weights.params) wanted.push_back({p.name, &weights.param(p), p.interleaved_heads});
  load_tensors(model_dir, wanted);
}

std::unique_ptr<DecoderModel> load_model(const std::string& model_dir, DType dtype, Backend& backend) {
  const ModelConfig config = ModelConfig::from_file((fs::path(model_dir) / "config.json").string());
  auto model = std::make_unique<DecoderModel>(config, backend, dtype);
  load_weights(model->weights(), model_dir);
  return model;
}

void save_model(const DecoderModel& model, const std::string& model_dir, bool bf16) {
  bf16 = bf16 || model.bf16();
  fs::create_directories(model_dir);
  // Tensors whose checkpoint layout differs from the model's (GPT-NeoX's query_key_value) are written from a
  // reordered host copy; the rest as they are.
  const ModelWeights& w = model.weights();
  std::vector<Tensor> reordered;
  reordered.reserve(w.params.size());
  std::vector<const Tensor*> tensors;
  for (const ParamInfo& p : w.params) {
    const Tensor& t = w.param(p);
    if (p.interleaved_heads == 0) {
      tensors.push_back(&t);
      continue;
    }
    Tensor host(t.name, t.shape, t.dtype());
    host.copy_from(t);
    tensors.push_back(&reordered.emplace_back(to_checkpoint_layout(host, p.interleaved_heads)));
  }
  save_safetensors((fs::path(model_dir) / "model.safetensors").string(), tensors, {{"format", "pt"}}, bf16);
  nlohmann::json cfg = model.config().to_json();
  cfg["torch_dtype"] = bf16 ? "bfloat16" : "float32";
  write_file_atomic((fs::path(model_dir) / "config.json").string(), cfg.dump(2) + "\n");
}

}  // namespace tandem
