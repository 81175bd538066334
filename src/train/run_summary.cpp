#include "train/run_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/dtype.h"
#include "io/atomic_file.h"
#include "model/lora.h"

namespace tandem {

namespace {
// The same cut as collate's make_row: the prompt to max_prompt_length, the response to what max_length leaves.
bool truncated(size_t prompt, size_t response, const Truncation& t) {
  const int64_t p = std::min<int64_t>(int64_t(prompt), t.max_prompt_length);
  return int64_t(prompt) > t.max_prompt_length || int64_t(response) > t.max_length - p;
}

std::string ideal_source(const TrainConfig& c, const std::string& mode) {
  if (mode == "given") return "sft_ideal and dpo_ideal in the config";
  if (mode == "running_min") return "the running minimum of each observed loss (maxright_ideal = running_min)";
  return c.maxright_ideal == "auto" ? "none given (sft_ideal/dpo_ideal unset), so zero"
                                    : "maxright_ideal = zero in the config";
}
}  // namespace

nlohmann::json sft_data_summary(const std::vector<SftExample>& data, const Truncation& t) {
  int64_t prompt = 0, completion = 0, cut = 0;
  for (const auto& e : data) {
    prompt += int64_t(e.prompt.size()), completion += int64_t(e.completion.size());
    cut += truncated(e.prompt.size(), e.completion.size(), t);
  }
  return {{"examples", data.size()}, {"prompt_tokens", prompt}, {"completion_tokens", completion},
          {"tokens", prompt + completion}, {"truncated_examples", cut}};
}

nlohmann::json preference_data_summary(const std::vector<PreferenceExample>& data, const Truncation& t) {
  int64_t prompt = 0, chosen = 0, rejected = 0, cut = 0;
  for (const auto& e : data) {
    prompt += int64_t(e.prompt.size()), chosen += int64_t(e.chosen.size()), rejected += int64_t(e.rejected.size());
    cut += truncated(e.prompt.size(), e.chosen.size(), t) || truncated(e.prompt.size(), e.rejected.size(), t);
  }
  return {{"examples", data.size()},         {"prompt_tokens", prompt},
          {"chosen_tokens", chosen},         {"rejected_tokens", rejected},
          {"tokens", prompt + chosen + rejected}, {"truncated_examples", cut}};
}

nlohmann::json run_summary(const RunSummaryInputs& in) {
  const TrainConfig& c = in.cfg;
  const ModelConfig& mc = in.model.config();
  int64_t trainable = 0;
  for (const ParamRef& p : in.trainable) trainable += p.value->numel();
  nlohmann::json s;
  nlohmann::json lora_modules = nlohmann::json::array();
  if (c.use_peft)
    for (const auto& m : lora_targets(mc, c.lora_config())) lora_modules.push_back(m.name);
  s["model"] = {{"architecture", mc.architecture},
                {"model_type", mc.model_type},
                {"layer", mc.layer_summary()},
                {"source", c.model_name_or_path.empty() ? "random init from " + c.model_config : c.model_name_or_path},
                {"dtype", c.bf16 ? "bf16" : "fp32"},
                {"device", in.model.backend().name()},
                {"parameters", mc.num_parameters()},
                {"trainable_parameters", trainable},
                {"lora", c.use_peft ? nlohmann::json{{"r", c.lora_r}, {"alpha", c.lora_alpha},
                                                     {"target_modules", lora_modules}}
                                    : nlohmann::json(nullptr)}};
  s["truncation"] = {{"max_length", in.truncation.max_length},
                     {"max_prompt_length", in.truncation.max_prompt_length},
                     {"mode", c.truncation_mode}};
  if (!in.sft.empty()) s["sft_dataset"] = sft_data_summary(in.sft, in.truncation), s["sft_dataset"]["path"] = c.sft_dataset;
  if (!in.preference.empty()) {
    s["preference_dataset"] = preference_data_summary(in.preference, in.truncation);
    s["preference_dataset"]["path"] = c.preference_dataset;
  }
  s["strategy"] = {{"name", c.strategy}, {"lambda", c.lambda}};
  if (c.strategy == "dpo" || c.strategy == "sequential" || c.strategy == "mix" || c.strategy == "alright" ||
      c.strategy == "maxright")
    s["strategy"]["loss_type"] = c.loss_type, s["strategy"]["beta"] = c.beta;
  if (c.strategy == "maxright") {
    const bool zero_by_default = in.ideal_mode == "zero" && c.maxright_ideal == "auto";
    s["strategy"]["ideal"] = {{"mode", in.ideal_mode},
                              {"sft", in.ideal_mode == "given" ? c.sft_ideal : 0.0},
                              {"dpo", in.ideal_mode == "given" ? c.dpo_ideal : 0.0},
                              {"source", ideal_source(c, in.ideal_mode)}};
    if (in.ideal_mode == "running_min") s["strategy"]["ideal"]["sft"] = nullptr, s["strategy"]["ideal"]["dpo"] = nullptr;
    if (zero_by_default)
      s["warnings"].push_back("MAXRIGHT's ideal point is zero because no sft_ideal/dpo_ideal was given: the gaps "
                              "are the raw losses, so the weighting favours whichever loss is larger. Set sft_ideal "
                              "and dpo_ideal (e.g. from single-objective runs; tandem sweep does this)");
  }
  s["optimization"] = {{"max_steps", c.max_steps},
                       {"per_device_train_batch_size", c.per_device_train_batch_size},
                       {"gradient_accumulation_steps", c.gradient_accumulation_steps},
                       {"world_size", in.world_size},
                       {"examples_per_step",
                        int64_t(in.world_size) * c.per_device_train_batch_size * c.gradient_accumulation_steps},
                       {"learning_rate", c.learning_rate},
                       {"lr_scheduler_type", c.lr_scheduler_type},
                       {"warmup_steps", c.warmup()},
                       {"min_lr_ratio", c.min_lr_ratio},
                       {"seed", c.seed}};
  s["output_dir"] = c.output_dir;
  if (!s.contains("warnings")) s["warnings"] = nlohmann::json::array();
  return s;
}

std::string format_run_summary(const nlohmann::json& s) {
  std::ostringstream o;
  const auto& m = s["model"];
  o << "tandem train: " << m["architecture"].get<std::string>() << " (" << m["model_type"].get<std::string>()
    << ") from " << m["source"].get<std::string>() << ", " << m["dtype"].get<std::string>() << ", "
    << m["parameters"].get<int64_t>() << " parameters, " << m["trainable_parameters"].get<int64_t>() << " trainable"
    << (m["lora"].is_null() ? "" : " (LoRA)") << "\n";
  o << "  layer: " << m["layer"].get<std::string>() << "\n";
  if (m.contains("device")) o << "  device: " << m["device"].get<std::string>() << "\n";
  const auto& t = s["truncation"];
  for (const char* key : {"sft_dataset", "preference_dataset"}) {
    if (!s.contains(key)) continue;
    const auto& d = s[key];
    o << "  " << key << ": " << d["path"].get<std::string>() << ": " << d["examples"].get<int64_t>() << " examples, "
      << d["tokens"].get<int64_t>() << " tokens (prompt " << d["prompt_tokens"].get<int64_t>();
    if (d.contains("completion_tokens")) o << ", completion " << d["completion_tokens"].get<int64_t>();
    else o << ", chosen " << d["chosen_tokens"].get<int64_t>() << ", rejected " << d["rejected_tokens"].get<int64_t>();
    o << "), " << d["truncated_examples"].get<int64_t>() << " truncated to max_length " << t["max_length"].get<int64_t>()
      << " / max_prompt_length " << t["max_prompt_length"].get<int64_t>() << "\n";
  }
  const auto& st = s["strategy"];
  o << "  strategy: " << st["name"].get<std::string>() << ", lambda " << st["lambda"].get<double>();
  if (st.contains("loss_type")) o << ", " << st["loss_type"].get<std::string>() << " loss, beta " << st["beta"].get<double>();
  o << "\n";
  if (st.contains("ideal")) {
    const auto& i = st["ideal"];
    o << "  MAXRIGHT ideal point: ";
    if (i["sft"].is_null()) o << "running minimum";
    else o << "(" << i["sft"].get<double>() << ", " << i["dpo"].get<double>() << ")";
    o << " from " << i["source"].get<std::string>() << "\n";
  }
  const auto& p = s["optimization"];
  o << "  steps: " << p["max_steps"].get<int64_t>() << ", batch " << p["per_device_train_batch_size"].get<int64_t>()
    << " x accumulation " << p["gradient_accumulation_steps"].get<int64_t>();
  if (p["world_size"].get<int64_t>() > 1)
    o << " x " << p["world_size"].get<int64_t>() << " ranks = " << p["examples_per_step"].get<int64_t>()
      << " examples per step";
  o << ", lr " << p["learning_rate"].get<double>()
    << " (" << p["lr_scheduler_type"].get<std::string>() << ", warmup " << p["warmup_steps"].get<int64_t>()
    << " steps, min_lr_ratio " << p["min_lr_ratio"].get<double>() << ")\n";
  for (const auto& w : s["warnings"]) o << "warning: " << w.get<std::string>() << "\n";
  return o.str();
}

void report_run_start(const RunSummaryInputs& in) {
  const nlohmann::json s = run_summary(in);
  std::fprintf(stderr, "%s", format_run_summary(s).c_str());
  write_file_atomic(in.cfg.output_dir + "/run_info.json", s.dump(2) + "\n");
}

}  // namespace tandem
