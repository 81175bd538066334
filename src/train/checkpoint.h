// Training checkpoints: a folder "checkpoint-<step>" holding the policy (model.safetensors + config.json, or with
// LoRA a PEFT adapter: adapter_model.safetensors + adapter_config.json), optimizer.safetensors
// (AdamW moments) and trainer_state.json (step, data-stream positions, strategy and RNG state, running values).
// The folder is written under a temporary name and renamed into place, so a crash never leaves a partial
// checkpoint where a resume would find it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/llama.h"
#include "optim/adamw.h"

namespace tandem {

void save_checkpoint(const std::string& dir, const LlamaModel& model, AdamW& optimizer,
                     const std::vector<ParamRef>& params, const nlohmann::json& trainer_state);

// Restores model weights and optimizer state; returns trainer_state.json.
nlohmann::json load_checkpoint(const std::string& dir, LlamaModel& model, AdamW& optimizer,
                               const std::vector<ParamRef>& params);

// Loads a checkpoint's (or any model folder's) weights into `model`: a PEFT adapter folder replaces the
// adapters' values (keeping the tensors, so optimizer references stay valid), a model folder the base weights.
void load_model_state(const std::string& dir, LlamaModel& model);

// The checkpoint folder with the highest step under output_dir, or "" when there is none.
std::string latest_checkpoint(const std::string& output_dir);

}  // namespace tandem
