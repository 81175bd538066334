// The demos' pretrained base models: trained once from a pretraining config and cached as a plain Hugging Face
// folder (config.json, model.safetensors, and the tokenizer files when the base has a tokenizer).
#pragma once
#include <string>

namespace tandem {

// Returns `base_dir`, pretraining it from `pretrain_toml` first when it holds no model.safetensors. The folder
// appears complete or not at all (written beside it, then renamed). `tokenizer_dir` ("" for none) is copied in.
std::string cached_pretrained_base(const std::string& pretrain_toml, const std::string& base_dir,
                                   const std::string& tokenizer_dir = "");

}  // namespace tandem
