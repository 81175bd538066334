#include "train/memory_check.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/host_memory.h"
#include "model/config.h"
#include "model/memory_plan.h"

namespace tandem {

void check_training_fits(const TrainConfig& cfg) {
  if (const char* skip = std::getenv("TANDEM_SKIP_MEMORY_CHECK"); skip && std::string(skip) == "1") return;
  const ModelConfig model = cfg.model_name_or_path.empty()
                                ? ModelConfig::from_file(cfg.model_config)
                                : ModelConfig::from_file(cfg.model_name_or_path + "/config.json");
  const int64_t rows = (cfg.strategy == "sft" ? 1 : 2) *
                       std::max(cfg.per_device_train_batch_size, cfg.per_device_eval_batch_size);
  const LoraConfig lora = cfg.lora_config();
  StepShape s;
  s.batch = rows, s.seq = cfg.max_length;
  s.dtype = cfg.bf16 ? DType::kBF16 : DType::kF32;
  s.recompute = cfg.gradient_checkpointing;
  s.master_weights = cfg.master_weights;
  s.logits_chunk_rows = cfg.logits_chunk_rows;
  s.lora = cfg.use_peft ? &lora : nullptr;
  check_fits_in_memory(plan_step_memory(model, s), available_host_bytes(),
                       "training (batch " + std::to_string(rows) + " x " + std::to_string(cfg.max_length) +
                           " tokens, " + (cfg.bf16 ? "bf16" : "f32") + (cfg.use_peft ? ", LoRA" : "") + ")");
}

}  // namespace tandem
