#include "train/checkpoint.h"

#include <unistd.h>

#include <filesystem>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/hf_checkpoint.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace tandem {

namespace fs = std::filesystem;

void save_checkpoint(const std::string& dir, const LlamaModel& model, AdamW& optimizer,
                     const std::vector<ParamRef>& params, const nlohmann::json& trainer_state) {
  const std::string tmp = dir + ".tmp-" + std::to_string(getpid());
  fs::remove_all(tmp);
  if (model.has_lora())
    save_peft_adapter(model.lora(), tmp);  // the base is frozen: only the adapter changes
  else
    save_model(model, tmp);  // config.json + model.safetensors: also loadable as a plain model folder
  std::vector<const Tensor*> moments;
  for (const auto& t : optimizer.exp_avg()) moments.push_back(&t);
  for (const auto& t : optimizer.exp_avg_sq()) moments.push_back(&t);
  for (const auto& t : optimizer.master_weights())
    if (!t.empty()) moments.push_back(&t);  // bf16 training: the f32 weights the bf16 ones are rounded from
  nlohmann::json state = trainer_state;
  state["optimizer_steps"] = optimizer.steps();
  state["parameters"] = params.size();
  save_safetensors(tmp + "/optimizer.safetensors", moments);
  write_file_atomic(tmp + "/trainer_state.json", state.dump(2) + "\n");
  fs::remove_all(dir);
  fs::rename(tmp, dir);
}

nlohmann::json load_checkpoint(const std::string& dir, LlamaModel& model, AdamW& optimizer,
                               const std::vector<ParamRef>& params) {
  TANDEM_CHECK(fs::is_directory(dir), "resume: ", dir, " is not a checkpoint folder");
  const nlohmann::json state = read_json_file(dir + "/trainer_state.json");
  load_model_state(dir, model);
  const SafetensorsFile moments(dir + "/optimizer.safetensors");
  if (state.at("optimizer_steps").get<int64_t>() > 0) {
    optimizer.init_state(params);  // on the parameters' device, f32 (f64 only in f64 gradient-check models)
    auto load = [&](Tensor& t) {
      const bool master = t.name.ends_with(".master");  // a bf16 parameter's f32 copy
      TANDEM_CHECK(moments.has(t.name), dir, ": optimizer.safetensors has no ", master ? "f32 master copy " : "tensor ",
                   t.name, master ? " (was the run saved without bf16?)" : "");
      t.take_values(moments.load(t.name));
    };
    for (size_t i = 0; i < params.size(); ++i) {
      load(optimizer.exp_avg()[i]);
      load(optimizer.exp_avg_sq()[i]);
      if (!optimizer.master_weights()[i].empty()) load(optimizer.master_weights()[i]);
    }
  }
  optimizer.set_steps(state.at("optimizer_steps").get<int64_t>());
  return state;
}

void load_model_state(const std::string& dir, LlamaModel& model) {
  if (!fs::exists(dir + "/adapter_config.json")) {
    load_weights(model.weights(), dir);
    return;
  }
  LoraWeights loaded = load_peft_adapter(dir, model.config());
  if (!model.has_lora()) {
    model.set_lora(std::move(loaded));
    return;
  }
  std::vector<Tensor*> dst;
  for_each_tensor(model.lora(), [&](Tensor& t) { dst.push_back(&t); });
  size_t i = 0;
  for_each_tensor(loaded, [&](Tensor& t) {
    TANDEM_CHECK(i < dst.size() && dst[i]->name == t.name && dst[i]->shape == t.shape, dir,
                 ": adapter does not match the configured LoRA (tensor ", t.name, ")");
    dst[i++]->take_values(std::move(t));
  });
  TANDEM_CHECK(i == dst.size(), dir, ": adapter has fewer tensors than the configured LoRA");
}

std::string latest_checkpoint(const std::string& output_dir) {
  if (!fs::is_directory(output_dir)) return "";
  std::string best;
  long long best_step = -1;
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("checkpoint-", 0) != 0) continue;
    const std::string digits = name.substr(11);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stoll(digits) > best_step) {
      best_step = std::stoll(digits);
      best = entry.path().string();
    }
  }
  return best;
}

}  // namespace tandem
