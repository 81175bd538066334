#include "train/config_keys.h"

#include <algorithm>
#include <cstdint>
#include <map>

namespace tandem {

namespace {

// TrainingArguments / SFTConfig / DPOConfig / ModelConfig arguments people copy from TRL scripts, with why
// Tandem has no such key. Not exhaustive: the common ones, so their error is more useful than "did you mean".
const std::map<std::string, std::string>& unsupported_trl_keys() {
  static const std::map<std::string, std::string> keys = {
      {"fp16", "Tandem trains in fp32 or bf16 (bf16 = true)"},
      {"tf32", "fp32 GEMMs stay fp32 on every backend (bf16 = true is the fast mode)"},
      {"deepspeed", "start ranks with mpirun; zero_stage = 1 shards the optimizer state (ZeRO-1)"},
      {"fsdp", "Tandem's ranks each hold the whole model (data parallel; zero_stage = 1 shards AdamW's state)"},
      {"ddp_backend", "MPI ranks on CPUs (mpirun), NCCL on GPUs; chosen by how the ranks are started"},
      {"local_rank", "mpirun assigns ranks"},
      {"optim", "the optimizer is always AdamW (adam_beta1, adam_beta2, adam_epsilon, weight_decay)"},
      {"lr_scheduler_kwargs", "min_lr_ratio sets cosine's floor"},
      {"gradient_checkpointing_kwargs", "gradient_checkpointing = true is the only setting"},
      {"dataloader_num_workers", "data are tokenized once at start-up"},
      {"dataloader_drop_last", "streams are endless, so there is no last batch to drop"},
      {"push_to_hub", "Tandem does not upload"},
      {"hub_model_id", "Tandem does not upload"},
      {"load_best_model_at_end", "the final checkpoint is the last step's"},
      {"metric_for_best_model", "the final checkpoint is the last step's"},
      {"logging_dir", "TensorBoard events go to <output_dir>/runs"},
      {"run_name", "output_dir names the run"},
      {"overwrite_output_dir", "a fresh run overwrites metrics.jsonl; resume with resume_from_checkpoint"},
      {"torch_dtype", "bf16 = true or false chooses the dtype"},
      {"dtype", "bf16 = true or false chooses the dtype"},
      {"attn_implementation", "Tandem has its own attention kernels"},
      {"use_liger_kernel", "Tandem has its own fused kernels"},
      {"padding_free", "packing = true packs SFT examples"},
      {"dataset_num_proc", "data are tokenized once at start-up"},
      {"max_completion_length", "max_length and max_prompt_length bound the pair"},
      {"generate_during_eval", "judge = \"toy\", \"answers\" or \"reward_model\" scores generations at the end"},
      {"sync_ref_model", "the reference model is the initial weights, fixed"},
      {"ref_model_init_kwargs", "the reference model is the initial weights, fixed"},
      {"model_init_kwargs", "model_name_or_path and bf16 load the model"},
      {"loss_weights", "loss_type takes one loss"},
      {"use_weighting", "not implemented"},
      {"completion_only_loss", "SFT always scores the completion only (a \"text\" example scores all of it)"},
      {"assistant_only_loss", "conversational SFT scores the last assistant turn"},
      {"neftune_noise_alpha", "not implemented"},
      {"use_rslora", "not implemented"},
      {"use_dora", "not implemented"},
      {"load_in_4bit", "no quantization"},
      {"load_in_8bit", "no quantization"},
      {"trust_remote_code", "Tandem runs Llama-family models natively"},
      {"torch_compile", "there is no PyTorch in Tandem"},
      {"do_train", "tandem train always trains"},
      {"do_eval", "evaluation follows eval_strategy"},
      {"eval_on_start", "Tandem always evaluates at step 0"},
      {"remove_unused_columns", "unused JSONL fields are ignored"},
      {"group_by_length", "not implemented"},
      {"auto_find_batch_size", "check the memory plan with tandem info"},
      {"save_only_model", "checkpoints always hold the optimizer state"},
      {"eval_accumulation_steps", "evaluation runs in per_device_eval_batch_size batches"},
  };
  return keys;
}

}  // namespace

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(const std::string& key, const std::vector<std::string>& known) {
  const auto& trl = unsupported_trl_keys();
  if (auto it = trl.find(key); it != trl.end())
    return "'" + key + "' is a TRL/transformers key that Tandem does not support: " + it->second;
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& k : known)
    if (const size_t d = edit_distance(key, k); d < best_distance) best_distance = d, best = k;
  // A typo is a few edits; further than a third of the key it is more likely another key altogether.
  const size_t near = std::max<size_t>(2, key.size() / 3);
  std::string message = "unknown key '" + key + "'";
  if (!best.empty() && best_distance <= near) message += " (did you mean '" + best + "'?)";
  return message;
}

}  // namespace tandem
