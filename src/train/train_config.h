// Everything `tandem train` reads, with TRL-like names. Loaded from a flat TOML file plus "key=value"
// overrides; an unknown key or a value of the wrong type or range is an error naming the key.
#pragma once
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/lora.h"

namespace tandem {

struct TrainConfig {
  // model: a Hugging Face folder, or a config.json to initialise randomly
  std::string model_name_or_path;
  std::string model_config;
  int64_t model_init_seed = 0;
  bool gradient_checkpointing = false;
  // "cpu" (default), "cuda" (the first visible NVIDIA GPU) or "auto" (cuda when one is usable): backends/devices.h
  std::string device = "cpu";
  bool bf16 = false;  // bf16 weights and activations, fp32 accumulation and master weights (TRL's name)
  bool master_weights = true;  // with bf16: AdamW updates f32 master copies (false: rounds into bf16 directly)
  int64_t logits_chunk_rows = 0;

  // LoRA (TRL's ModelConfig names): adapters on the listed projections, base frozen
  bool use_peft = false;
  int64_t lora_r = 16;
  double lora_alpha = 32, lora_dropout = 0.05;
  // A TOML list of module names, a comma-separated string, or "all-linear" (PEFT: every linear layer but lm_head)
  // Empty: the family's attention projections (q/k/v/o_proj for Llama, query_key_value and dense for GPT-NeoX).
  std::string lora_target_modules;
  bool save_merged_model = false;  // at the end, also write <output_dir>/merged: base + adapters, a plain model

  // data: JSONL in any shape of data/text_formats.h; text needs a tokenizer folder (tokenizer.json, and
  // tokenizer_config.json for the chat template), by default the model's folder
  std::string sft_dataset, preference_dataset, sft_eval_dataset, preference_eval_dataset;
  std::string tokenizer_name_or_path;
  bool use_chat_template = true;
  std::string dataset_text_field = "text";  // SFT (TRL's SFTConfig): the field of a plain-text line that holds it
  int64_t max_length = 512, max_prompt_length = 256;
  std::string truncation_mode = "keep_end";  // which part of a long prompt to keep: keep_end | keep_start
  bool packing = false;         // SFT: pack a batch's examples into as few rows as fit max_length
  bool prefix_sharing = true;   // preference: chosen and rejected share one computation of their prompt
  int64_t eval_max_examples = 256;  // without eval sets, f_SFT/f_DPO are evaluated on this many training examples

  // strategy: sft | dpo | sequential | mix | alright | maxright
  std::string strategy = "alright";
  double lambda = 0.5;  // weight of DPO; 1 - lambda weights SFT
  std::string sequential_order = "sft_then_dpo";  // or dpo_then_sft
  int64_t sequential_first_steps = 0;  // 0: the paper's pairing of lambda with a stage split
  double sequential_first_epochs = 0;  // > 0: the first stage is this many epochs of its dataset instead
  int64_t maxright_k = 10;             // refresh both gap estimates every k steps (0: never)
  std::string maxright_ideal = "auto";  // given | zero | running_min | auto (given when both set, else zero)
  double sft_ideal = std::numeric_limits<double>::quiet_NaN();
  double dpo_ideal = std::numeric_limits<double>::quiet_NaN();

  // preference loss
  std::string loss_type = "sigmoid";  // sigmoid | ipo | hinge | simpo | orpo
  double beta = 0.1, label_smoothing = 0.0, simpo_gamma = 0.5;
  std::string reference_cache_dir = "runs/cache";
  double rpo_alpha = 0;  // TRL's RPO: + rpo_alpha x token-mean NLL of the chosen responses (0: off, TRL's None)
  bool precompute_ref_log_probs = true;  // accepted for TRL configs; Tandem always precomputes and caches them

  // optimisation
  // Length of training, as transformers: max_steps > 0 wins; -1 trains num_train_epochs epochs (train/epoch_plan.h
  // defines an epoch for each strategy). The Trainer resolves max_steps to a step count before training.
  int64_t max_steps = -1;
  double num_train_epochs = 3.0;
  int64_t per_device_train_batch_size = 4, per_device_eval_batch_size = 8, gradient_accumulation_steps = 1;
  double learning_rate = 1e-4, weight_decay = 0.0, adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double max_grad_norm = 1.0, warmup_ratio = 0.0, min_lr_ratio = 0.0;
  int64_t warmup_steps = 0;
  std::string lr_scheduler_type = "cosine";
  int64_t seed = 42;

  // data parallelism (under mpirun; train/README's "Data-parallel training"): gradients are summed in buckets of
  // ddp_bucket_cap_mb (transformers' name) while the backward runs; zero_stage = 1 shards AdamW's state over ranks
  double ddp_bucket_cap_mb = 25;
  int64_t zero_stage = 0;

  // bookkeeping
  std::string output_dir = "runs/train";
  int64_t logging_steps = 1, eval_steps = 0, save_steps = 0;  // 0: only at the end
  // no | steps | epoch, as transformers' IntervalStrategy; "" (unset) keeps Tandem's older rule: "steps" when
  // eval_steps (save_steps) > 0, else "no". Start and final evaluations and the final checkpoint always happen.
  std::string logging_strategy = "steps", eval_strategy, save_strategy;
  std::string report_to = "jsonl";  // none | jsonl | csv | tensorboard | all, or a list of them
  // false: no checkpoint at the end either (timing runs, e.g. tandem sweep's cost measurement, that keep nothing)
  bool save_final_checkpoint = true;
  int64_t save_total_limit = 0;  // keep the newest N complete checkpoints; 0 keeps all (transformers' None)
  std::string resume_from_checkpoint;  // "", "latest" or a checkpoint folder
  bool progress = true;
  // At the end, judges score greedy generations (eval/judge_run.h): "toy" (the toy task's exact judges), "answers"
  // (exact match of text against accepted answers) or "reward_model" (summed log-prob of judge_template under the
  // model at judge_model_path); the win rate against the chosen responses covers win_rate_max_examples examples.
  std::string judge;
  std::string judge_model_path;
  std::string judge_template = "{prompt}{response}";
  int64_t win_rate_max_examples = 64, judge_max_new_tokens = 64;
  // Capability retention (eval/multiple_choice.h): a multiple-choice JSONL scored with the final model, written to
  // summary.json's "multiple_choice" ("": off). Prompt style cloze | letters; at most max_examples items (0: all).
  std::string multiple_choice_dataset, multiple_choice_prompt_style = "cloze";
  int64_t multiple_choice_max_examples = 0;

  static TrainConfig from_toml_file(const std::string& path, const std::vector<std::string>& overrides = {});
  static TrainConfig from_toml_string(const std::string& text, const std::vector<std::string>& overrides = {},
                                      const std::string& source = "config");
  void set(const std::string& key, const std::string& value);  // value in TOML syntax; bare words are strings
  // Every value in its domain (errors name `source` and the key); TOML's nan/inf are rejected.
  void validate(const std::string& source = "config") const;
  // Bounds on shapes (tokens per step stay far inside int64 and int32 positions).
  static constexpr int64_t kMaxLength = int64_t{1} << 20;
  static constexpr int64_t kMaxBatch = int64_t{1} << 16;
  static constexpr int64_t kMaxLoraRank = int64_t{1} << 16;
  nlohmann::json to_json() const;
  int64_t warmup() const;  // warmup_steps, or warmup_ratio * max_steps
  std::vector<std::string> lora_targets() const;
  std::vector<std::string> report_targets() const;  // report_to as a list, "all" expanded, "none" empty
  // The strategies with "" resolved (see eval_strategy), and eval_steps with transformers' fallback to
  // logging_steps when eval_strategy = "steps" leaves it 0.
  std::string resolved_eval_strategy() const;
  std::string resolved_save_strategy() const;
  int64_t resolved_eval_steps() const;
  LoraConfig lora_config() const;  // from lora_r, lora_alpha, lora_dropout and lora_target_modules
};

}  // namespace tandem
