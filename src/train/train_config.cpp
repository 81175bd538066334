#include "train/train_config.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <map>
#include <toml++/toml.h>
#include <variant>

#include "core/check.h"
#include "model/lora.h"
#include "train/config_keys.h"

namespace tandem {

namespace {

std::vector<std::string> comma_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

using Field = std::variant<std::string*, double*, int64_t*, bool*>;

// The schema: every key the config accepts, bound to its field.
std::map<std::string, Field> fields(TrainConfig& c) {
  return {
      {"model_name_or_path", &c.model_name_or_path}, {"model_config", &c.model_config},
      {"model_init_seed", &c.model_init_seed}, {"gradient_checkpointing", &c.gradient_checkpointing},
      {"device", &c.device}, {"bf16", &c.bf16}, {"master_weights", &c.master_weights}, {"logits_chunk_rows", &c.logits_chunk_rows}, {"use_peft", &c.use_peft}, {"lora_r", &c.lora_r},
      {"lora_alpha", &c.lora_alpha}, {"lora_dropout", &c.lora_dropout},
      {"lora_target_modules", &c.lora_target_modules}, {"save_merged_model", &c.save_merged_model},
      {"sft_dataset", &c.sft_dataset},
      {"preference_dataset", &c.preference_dataset},
      {"tokenizer_name_or_path", &c.tokenizer_name_or_path}, {"use_chat_template", &c.use_chat_template},
      {"dataset_text_field", &c.dataset_text_field},
      {"truncation_mode", &c.truncation_mode}, {"packing", &c.packing}, {"prefix_sharing", &c.prefix_sharing}, {"sft_eval_dataset", &c.sft_eval_dataset},
      {"preference_eval_dataset", &c.preference_eval_dataset}, {"max_length", &c.max_length},
      {"max_prompt_length", &c.max_prompt_length}, {"eval_max_examples", &c.eval_max_examples},
      {"strategy", &c.strategy}, {"lambda", &c.lambda}, {"sequential_order", &c.sequential_order},
      {"sequential_first_steps", &c.sequential_first_steps},
      {"sequential_first_epochs", &c.sequential_first_epochs}, {"maxright_k", &c.maxright_k},
      {"maxright_ideal", &c.maxright_ideal}, {"sft_ideal", &c.sft_ideal}, {"dpo_ideal", &c.dpo_ideal},
      {"loss_type", &c.loss_type}, {"beta", &c.beta}, {"label_smoothing", &c.label_smoothing},
      {"simpo_gamma", &c.simpo_gamma}, {"reference_cache_dir", &c.reference_cache_dir},
      {"rpo_alpha", &c.rpo_alpha}, {"precompute_ref_log_probs", &c.precompute_ref_log_probs},
      {"max_steps", &c.max_steps}, {"num_train_epochs", &c.num_train_epochs}, {"per_device_train_batch_size", &c.per_device_train_batch_size},
      {"per_device_eval_batch_size", &c.per_device_eval_batch_size},
      {"gradient_accumulation_steps", &c.gradient_accumulation_steps}, {"learning_rate", &c.learning_rate},
      {"weight_decay", &c.weight_decay}, {"adam_beta1", &c.adam_beta1}, {"adam_beta2", &c.adam_beta2},
      {"adam_epsilon", &c.adam_epsilon}, {"max_grad_norm", &c.max_grad_norm}, {"warmup_ratio", &c.warmup_ratio},
      {"min_lr_ratio", &c.min_lr_ratio}, {"warmup_steps", &c.warmup_steps},
      {"lr_scheduler_type", &c.lr_scheduler_type}, {"seed", &c.seed}, {"output_dir", &c.output_dir},
      {"ddp_bucket_cap_mb", &c.ddp_bucket_cap_mb}, {"zero_stage", &c.zero_stage},
      {"logging_steps", &c.logging_steps}, {"eval_steps", &c.eval_steps}, {"save_steps", &c.save_steps},
      {"save_total_limit", &c.save_total_limit}, {"logging_strategy", &c.logging_strategy},
      {"eval_strategy", &c.eval_strategy}, {"save_strategy", &c.save_strategy}, {"report_to", &c.report_to},
      {"resume_from_checkpoint", &c.resume_from_checkpoint}, {"progress", &c.progress}, {"judge", &c.judge},
      {"save_final_checkpoint", &c.save_final_checkpoint},
      {"multiple_choice_dataset", &c.multiple_choice_dataset},
      {"multiple_choice_prompt_style", &c.multiple_choice_prompt_style},
      {"multiple_choice_max_examples", &c.multiple_choice_max_examples},
      {"judge_model_path", &c.judge_model_path}, {"judge_template", &c.judge_template},
      {"win_rate_max_examples", &c.win_rate_max_examples}, {"judge_max_new_tokens", &c.judge_max_new_tokens},
  };
}

// Keys whose value may also be a TOML list of strings (TRL takes lists there); stored comma-joined.
bool takes_list(const std::string& key) { return key == "lora_target_modules" || key == "report_to"; }

std::string joined_strings(const toml::array& list, const std::string& where) {
  std::string out;
  for (const toml::node& item : list) {
    TANDEM_CHECK(item.is_string(), where, " expects a list of strings");
    const std::string s = *item.value<std::string>();
    TANDEM_CHECK(s.find(',') == std::string::npos, where, ": list item '", s, "' contains a comma");
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

void assign(const std::string& key, Field field, const toml::node& node, const std::string& source) {
  const std::string where = source + ": key '" + key + "'";
  if (takes_list(key) && node.is_array()) {
    *std::get<std::string*>(field) = joined_strings(*node.as_array(), where);
    return;
  }
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::string>) {
          TANDEM_CHECK(node.is_string(), where, takes_list(key) ? " expects a string or a list of strings"
                                                                : " expects a string");
          *target = *node.value<std::string>();
        } else if constexpr (std::is_same_v<T, bool>) {
          TANDEM_CHECK(node.is_boolean(), where, " expects true or false");
          *target = *node.value<bool>();
        } else if constexpr (std::is_same_v<T, int64_t>) {
          TANDEM_CHECK(node.is_integer(), where, " expects an integer");
          *target = *node.value<int64_t>();
        } else {
          TANDEM_CHECK(node.is_number(), where, " expects a number");
          *target = *node.value<double>();
        }
      },
      field);
}

// The schema entry of `key`, or an error naming the nearest supported key (or the TRL key it is).
std::map<std::string, Field>::iterator find_key(std::map<std::string, Field>& schema, const std::string& key,
                                                const std::string& source) {
  auto it = schema.find(key);
  if (it != schema.end()) return it;
  std::vector<std::string> known;
  for (const auto& entry : schema) known.push_back(entry.first);
  fail(source, ": ", unknown_key_message(key, known));
}

void apply_table(TrainConfig& c, const toml::table& table, const std::string& source) {
  auto schema = fields(c);
  for (const auto& [k, node] : table) {
    const std::string key(k.str());
    auto it = find_key(schema, key, source);
    assign(key, it->second, node, source);
  }
}

}  // namespace

void TrainConfig::set(const std::string& key, const std::string& value) {
  auto schema = fields(*this);
  auto it = find_key(schema, key, "override");
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", value}};  // a bare word: take it as a string
  }
  assign(key, it->second, *parsed.get("v"), "override");
}

TrainConfig TrainConfig::from_toml_string(const std::string& text, const std::vector<std::string>& overrides,
                                          const std::string& source) {
  TrainConfig c;
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    fail(source, ":", e.source().begin.line, ": ", e.description());
  }
  apply_table(c, table, source);
  for (const auto& o : overrides) {
    const size_t eq = o.find('=');
    TANDEM_CHECK(eq != std::string::npos && eq > 0, "override '", o, "' must look like key=value");
    c.set(o.substr(0, eq), o.substr(eq + 1));
  }
  c.validate(source);
  return c;
}

TrainConfig TrainConfig::from_toml_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  TANDEM_CHECK(in, path, ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return from_toml_string(ss.str(), overrides, path);
}

void TrainConfig::validate(const std::string& source) const {
  auto one_of = [&](const std::string& key, const std::string& v, std::initializer_list<const char*> allowed) {
    for (const char* a : allowed)
      if (v == a) return;
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
    fail(source, ": key '", key, "': '", v, "' is not one of ", list);
  };
  auto check = [&](bool ok, const std::string& key, const std::string& why) {
    TANDEM_CHECK(ok, source, ": key '", key, "': ", why);
  };
  // TOML accepts nan and inf: no number of the config may be either, except the ideals, where NaN means unset.
  TrainConfig copy = *this;
  for (const auto& [key, field] : fields(copy))
    if (auto* const* v = std::get_if<double*>(&field); v && key != "sft_ideal" && key != "dpo_ideal")
      check(std::isfinite(**v), key, "must be a finite number, got " + std::to_string(**v));
  check(!std::isinf(sft_ideal) && !std::isinf(dpo_ideal), std::isinf(sft_ideal) ? "sft_ideal" : "dpo_ideal",
        "must be a finite number");
  one_of("device", device, {"cpu", "cuda", "auto"});
  one_of("strategy", strategy, {"sft", "dpo", "sequential", "mix", "alright", "maxright"});
  one_of("sequential_order", sequential_order, {"sft_then_dpo", "dpo_then_sft"});
  one_of("maxright_ideal", maxright_ideal, {"auto", "given", "zero", "running_min"});
  one_of("loss_type", loss_type, {"sigmoid", "ipo", "hinge", "simpo", "orpo"});
  one_of("lr_scheduler_type", lr_scheduler_type, {"constant", "linear", "cosine"});
  one_of("judge", judge, {"", "toy", "answers", "reward_model"});
  check(judge != "reward_model" || !judge_model_path.empty(), "judge_model_path",
        "judge = \"reward_model\" needs the judge's model folder (a Tandem checkpoint or Hugging Face folder)");
  check(judge_template.find("{response}") != std::string::npos, "judge_template",
        "'" + judge_template + "' has no {response} (where the judged response goes; e.g. \"{prompt}{response}\")");
  check(judge_template.find("{response}") == judge_template.rfind("{response}"), "judge_template",
        "'" + judge_template + "' holds {response} more than once");
  check(win_rate_max_examples > 0, "win_rate_max_examples", "must be > 0");
  check(judge_max_new_tokens > 0, "judge_max_new_tokens", "must be > 0");
  one_of("multiple_choice_prompt_style", multiple_choice_prompt_style, {"cloze", "letters"});
  check(multiple_choice_max_examples >= 0, "multiple_choice_max_examples", "must be >= 0 (0: every item)");
  one_of("truncation_mode", truncation_mode, {"keep_end", "keep_start"});
  check(model_name_or_path.empty() != model_config.empty(), "model_name_or_path",
        "set exactly one of model_name_or_path (a Hugging Face folder) and model_config (random init)");
  check(lambda >= 0 && lambda <= 1, "lambda", "must be in [0, 1]");
  check(max_steps > 0 || max_steps == -1, "max_steps",
        "must be > 0, or -1 (TRL's default) to train num_train_epochs epochs");
  check(max_steps > 0 || num_train_epochs > 0, "num_train_epochs", "must be > 0 when max_steps = -1");
  check(num_train_epochs >= 0, "num_train_epochs", "must be >= 0");
  check(rpo_alpha >= 0, "rpo_alpha", "must be >= 0 (0: off)");
  check(rpo_alpha == 0 || loss_type == "sigmoid" || loss_type == "ipo" || loss_type == "hinge", "rpo_alpha",
        "applies to loss_type sigmoid, ipo or hinge (TRL's DPOTrainer), not '" + loss_type + "'");
  check(!dataset_text_field.empty(), "dataset_text_field", "must name a field");
  one_of("logging_strategy", logging_strategy, {"no", "steps", "epoch"});
  one_of("eval_strategy", eval_strategy, {"", "no", "steps", "epoch"});
  one_of("save_strategy", save_strategy, {"", "no", "steps", "epoch"});
  check(save_strategy != "steps" || save_steps > 0, "save_steps", "save_strategy = \"steps\" needs save_steps > 0");
  for (const std::string& sink : comma_list(report_to)) {
    one_of("report_to", sink, {"none", "all", "jsonl", "csv", "tensorboard"});
    check(sink != "none" || comma_list(report_to).size() == 1, "report_to", "'none' cannot be listed with others");
  }
  check(per_device_train_batch_size > 0, "per_device_train_batch_size", "must be > 0");
  check(per_device_eval_batch_size > 0, "per_device_eval_batch_size", "must be > 0");
  check(gradient_accumulation_steps > 0, "gradient_accumulation_steps", "must be > 0");
  check(ddp_bucket_cap_mb > 0 && ddp_bucket_cap_mb <= 2048, "ddp_bucket_cap_mb", "must be in (0, 2048]");
  check(zero_stage == 0 || zero_stage == 1, "zero_stage",
        "must be 0 (every rank keeps AdamW's whole state) or 1 (each rank keeps its slice); stages 2 and 3 are not "
        "implemented");
  // AdamW moves every weight by about learning_rate per step: above 1 a run can only diverge.
  check(learning_rate >= 0 && learning_rate <= 1, "learning_rate", "must be in [0, 1]");
  check(weight_decay >= 0 && weight_decay <= 1, "weight_decay", "must be in [0, 1]");
  check(adam_beta1 >= 0 && adam_beta1 < 1, "adam_beta1", "must be in [0, 1)");
  check(adam_beta2 >= 0 && adam_beta2 < 1, "adam_beta2", "must be in [0, 1)");
  check(adam_epsilon > 0, "adam_epsilon", "must be > 0");
  check(max_grad_norm >= 0, "max_grad_norm", "must be >= 0 (0: no clipping)");
  check(min_lr_ratio >= 0 && min_lr_ratio <= 1, "min_lr_ratio", "must be in [0, 1]");
  check(logits_chunk_rows >= 0, "logits_chunk_rows", "must be >= 0 (0: sized from the vocabulary)");
  check(eval_max_examples >= 0, "eval_max_examples", "must be >= 0");
  check(beta > 0, "beta", "must be > 0");
  check(label_smoothing >= 0 && label_smoothing < 0.5, "label_smoothing", "must be in [0, 0.5)");
  check(max_length >= 2 && max_length <= kMaxLength, "max_length",
        "must be in [2, " + std::to_string(kMaxLength) + "]");
  check(per_device_train_batch_size <= kMaxBatch && per_device_eval_batch_size <= kMaxBatch,
        "per_device_train_batch_size", "batch sizes must be at most " + std::to_string(kMaxBatch));
  check(lora_r <= kMaxLoraRank, "lora_r", "must be at most " + std::to_string(kMaxLoraRank));
  check(max_prompt_length >= 1 && max_prompt_length < max_length, "max_prompt_length", "must be in [1, max_length)");
  check(warmup_ratio >= 0 && warmup_ratio <= 1, "warmup_ratio", "must be in [0, 1]");
  check(warmup_steps >= 0, "warmup_steps", "must be >= 0");
  check(maxright_k >= 0, "maxright_k", "must be >= 0");
  check(logging_steps > 0, "logging_steps", "must be > 0");
  check(eval_steps >= 0 && save_steps >= 0, "eval_steps", "eval_steps and save_steps must be >= 0");
  check(save_total_limit >= 0, "save_total_limit", "must be >= 1 (or 0, the default: keep every checkpoint)");
  check(sequential_first_steps >= 0 && (max_steps < 0 || sequential_first_steps <= max_steps),
        "sequential_first_steps", "must be in [0, max_steps]");
  check(sequential_first_epochs >= 0, "sequential_first_epochs", "must be >= 0");
  check(sequential_first_epochs == 0 || sequential_first_steps == 0, "sequential_first_epochs",
        "set sequential_first_steps or sequential_first_epochs, not both");
  const bool needs_sft = strategy != "dpo", needs_pref = strategy != "sft";
  check(!needs_sft || !sft_dataset.empty(), "sft_dataset", "required by strategy '" + strategy + "'");
  check(!needs_pref || !preference_dataset.empty(), "preference_dataset",
        "required by strategy '" + strategy + "'");
  check(lora_r > 0, "lora_r", "must be > 0");
  check(lora_alpha > 0, "lora_alpha", "must be > 0");
  check(lora_dropout >= 0 && lora_dropout < 1, "lora_dropout", "must be in [0, 1)");
  {  // the module names are checked with or without use_peft: a typo is worth knowing either way
    try {
      lora_config().validate();
    } catch (const Error& e) {
      fail(source, ": key 'lora_target_modules': ", e.what());
    }
  }
  if (maxright_ideal == "given")
    check(std::isfinite(sft_ideal) && std::isfinite(dpo_ideal), "maxright_ideal",
          "'given' needs both sft_ideal and dpo_ideal");
}

std::vector<std::string> TrainConfig::lora_targets() const {
  // PEFT's "all-linear" (every linear layer but the output head) is resolved against the model's family
  // (model/lora.h), as an empty list (the family's attention projections) is.
  return comma_list(lora_target_modules);
}

std::vector<std::string> TrainConfig::report_targets() const {
  const std::vector<std::string> listed = comma_list(report_to);
  for (const std::string& s : listed)
    if (s == "all") return {"jsonl", "csv", "tensorboard"};  // transformers' "all": every integration there is
  if (listed.size() == 1 && listed[0] == "none") return {};
  return listed;
}

std::string TrainConfig::resolved_eval_strategy() const {
  if (!eval_strategy.empty()) return eval_strategy;
  return eval_steps > 0 ? "steps" : "no";
}

std::string TrainConfig::resolved_save_strategy() const {
  if (!save_strategy.empty()) return save_strategy;
  return save_steps > 0 ? "steps" : "no";
}

int64_t TrainConfig::resolved_eval_steps() const {
  // transformers' TrainingArguments.__post_init__: eval_strategy "steps" without eval_steps uses logging_steps.
  return eval_steps > 0 ? eval_steps : logging_steps;
}

LoraConfig TrainConfig::lora_config() const {
  LoraConfig lc;
  lc.r = lora_r;
  lc.alpha = lora_alpha;
  lc.dropout = lora_dropout;
  lc.target_modules = lora_targets();
  return lc;
}

int64_t TrainConfig::warmup() const {
  return warmup_steps > 0 ? warmup_steps : int64_t(std::ceil(warmup_ratio * double(max_steps)));
}

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j;
  TrainConfig copy = *this;
  for (const auto& [name, field] : fields(copy)) {
    nlohmann::json& out = j[name];  // a binding, not captured below: clang before 16 cannot capture bindings
    std::visit(
        [&out](auto* v) {
          if constexpr (std::is_same_v<std::remove_pointer_t<decltype(v)>, double>)
            out = std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
          else
            out = *v;
        },
        field);
  }
  return j;
}

}  // namespace tandem
