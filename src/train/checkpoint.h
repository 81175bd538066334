// Training checkpoints: a folder "checkpoint-<step>" holding the policy (model.safetensors + config.json, or with
// LoRA a PEFT adapter: adapter_model.safetensors + adapter_config.json), optimizer.safetensors
// (AdamW moments), the tokenizer's files with generation_config.json, and trainer_state.json (step, data-stream positions, strategy and RNG state, running values).
// The folder is written under a temporary name, completed by a manifest written last, and renamed into place
// (train/checkpoint_folders.h), so a crash or a full disk never leaves a partial checkpoint where a resume would
// find it, nor takes away the last complete one.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dist/sharded_adamw.h"
#include "model/decoder_model.h"
#include "optim/adamw.h"
#include "train/checkpoint_folders.h"

namespace tandem {

// Fails (naming `dir` and the reason) with every earlier checkpoint untouched when anything cannot be written.
// With `tokenizer_dir`, the checkpoint also carries its tokenizer files and a generation_config.json
// (train/tokenizer_files.h), so `tandem generate CHECKPOINT` and transformers can use the folder alone.
void save_checkpoint(const std::string& dir, const DecoderModel& model, AdamW& optimizer,
                     const std::vector<ParamRef>& params, const nlohmann::json& trainer_state,
                     const std::string& tokenizer_dir = "");

// Restores model weights and optimizer state; returns trainer_state.json. An incomplete folder is an error.
nlohmann::json load_checkpoint(const std::string& dir, DecoderModel& model, AdamW& optimizer,
                               const std::vector<ParamRef>& params);

// The same with ZeRO-1's sharded optimizer: each rank reads only the state tensors it owns part of, one at a time,
// and keeps its slice (the checkpoint holds the whole state, whatever the world size that saved it).
nlohmann::json load_checkpoint(const std::string& dir, DecoderModel& model, ShardedAdamW& optimizer,
                               const std::vector<ParamRef>& params);

// Loads a checkpoint's (or any model folder's) weights into `model`: a PEFT adapter folder replaces the
// adapters' values (keeping the tensors, so optimizer references stay valid), a model folder the base weights.
void load_model_state(const std::string& dir, DecoderModel& model);

}  // namespace tandem
