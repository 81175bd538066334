#include "train/checkpoint.h"

#include <filesystem>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/checked_write.h"
#include "io/crash_points.h"
#include "io/hf_checkpoint.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "train/tokenizer_files.h"

namespace tandem {

namespace fs = std::filesystem;

namespace {

void write_checkpoint_files(const std::string& dir, const DecoderModel& model, AdamW& optimizer,
                            const std::vector<ParamRef>& params, const nlohmann::json& trainer_state,
                            const std::string& tokenizer_dir) {
  if (!tokenizer_dir.empty()) write_tokenizer_files(tokenizer_dir, dir);
  if (model.has_lora())
    save_peft_adapter(model.lora(), dir);  // the base is frozen: only the adapter changes
  else
    save_model(model, dir);  // config.json + model.safetensors: also loadable as a plain model folder
  std::vector<const Tensor*> moments;
  for (const auto& t : optimizer.exp_avg()) moments.push_back(&t);
  for (const auto& t : optimizer.exp_avg_sq()) moments.push_back(&t);
  for (const auto& t : optimizer.master_weights())
    if (!t.empty()) moments.push_back(&t);  // bf16 training: the f32 weights the bf16 ones are rounded from
  nlohmann::json state = trainer_state;
  state["optimizer_steps"] = optimizer.steps();
  state["parameters"] = params.size();
  state["checkpoint_format"] = kCheckpointFormat;  // so a folder of this version without a manifest is incomplete
  save_safetensors(dir + "/optimizer.safetensors", moments);
  write_file_atomic(dir + "/trainer_state.json", state.dump(2) + "\n");
}

}  // namespace

void save_checkpoint(const std::string& dir, const DecoderModel& model, AdamW& optimizer,
                     const std::vector<ParamRef>& params, const nlohmann::json& trainer_state,
                     const std::string& tokenizer_dir) {
  CrashPointScope crash_points;
  const std::string tmp = temp_checkpoint_folder(dir);
  try {
    fs::create_directories(parent_dir(dir));
    if (fs::exists(tmp)) remove_tree(tmp);  // this process's own, from a save that failed before
    make_dir_durably(tmp);
    // each file fsynced, then the folder
    write_checkpoint_files(tmp, model, optimizer, params, trainer_state, tokenizer_dir);
    write_checkpoint_manifest(tmp);
    publish_checkpoint(tmp, dir);
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);  // a full disk's half-written copy; recover_interrupted_saves gets what stays
    fail("cannot save checkpoint ", dir, ": ", e.what());
  }
}

namespace {

// Checks `dir` is a complete checkpoint, loads its weights into `model`, and returns trainer_state.json with the
// optimizer's step count.
nlohmann::json open_checkpoint(const std::string& dir, DecoderModel& model, int64_t* optimizer_steps) {
  TANDEM_CHECK(fs::is_directory(dir), "resume: ", dir, " is not a checkpoint folder");
  const CheckpointStatus status = checkpoint_status(dir);
  TANDEM_CHECK(status.complete, "resume: ", dir, " is an incomplete checkpoint (", status.problem,
               "); resume from a complete one, e.g. resume_from_checkpoint = \"latest\"");
  const nlohmann::json state = read_json_file(dir + "/trainer_state.json");
  *optimizer_steps = json_get<int64_t>(state, "optimizer_steps", dir + "/trainer_state.json");  // names the file
  TANDEM_CHECK(*optimizer_steps >= 0, dir, "/trainer_state.json: optimizer_steps is ", *optimizer_steps);
  load_model_state(dir, model);
  return state;
}

// One optimizer-state tensor of the checkpoint, by name ("<param>.exp_avg", ".exp_avg_sq", ".master"), in f32.
Tensor read_state_tensor(const SafetensorsFile& moments, const std::string& dir, const std::string& name) {
  const bool master = name.ends_with(".master");  // a bf16 parameter's f32 copy
  TANDEM_CHECK(moments.has(name), dir, ": optimizer.safetensors has no ", master ? "f32 master copy " : "tensor ", name,
               master ? " (was the run saved without bf16?)" : "");
  return moments.load(name);
}

}  // namespace

nlohmann::json load_checkpoint(const std::string& dir, DecoderModel& model, AdamW& optimizer,
                               const std::vector<ParamRef>& params) {
  int64_t optimizer_steps = 0;
  const nlohmann::json state = open_checkpoint(dir, model, &optimizer_steps);
  const SafetensorsFile moments(dir + "/optimizer.safetensors");
  if (optimizer_steps > 0) {
    optimizer.init_state(params);  // on the parameters' device, f32 (f64 only in f64 gradient-check models)
    auto load = [&](Tensor& t) { t.take_values(read_state_tensor(moments, dir, t.name)); };
    for (size_t i = 0; i < params.size(); ++i) {
      load(optimizer.exp_avg()[i]);
      load(optimizer.exp_avg_sq()[i]);
      if (!optimizer.master_weights()[i].empty()) load(optimizer.master_weights()[i]);
    }
  }
  optimizer.set_steps(optimizer_steps);
  return state;
}

nlohmann::json load_checkpoint(const std::string& dir, DecoderModel& model, ShardedAdamW& optimizer,
                               const std::vector<ParamRef>& params) {
  int64_t optimizer_steps = 0;
  const nlohmann::json state = open_checkpoint(dir, model, &optimizer_steps);
  const SafetensorsFile moments(dir + "/optimizer.safetensors");
  if (optimizer_steps == 0) {  // saved before any update: fresh state, as AdamW's first step would make
    optimizer.init_state(params);
    optimizer.set_steps(0);
    return state;
  }
  using Part = ShardedAdamW::Part;
  optimizer.load_slices(params, optimizer_steps, [&](size_t i, Part part) {
    const char* suffix = part == Part::kExpAvg ? ".exp_avg" : part == Part::kExpAvgSq ? ".exp_avg_sq" : ".master";
    return read_state_tensor(moments, dir, params[i].value->name + suffix);
  });
  return state;
}

void load_model_state(const std::string& dir, DecoderModel& model) {
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

}  // namespace tandem
