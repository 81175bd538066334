// Model hyper-parameters, read from / written to a Hugging Face config.json.
// Covers LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM (q/k/v biases) and Qwen3ForCausalLM (q/k norm).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "model/rope_table.h"

namespace tandem {

struct ModelConfig {
  std::string architecture = "LlamaForCausalLM";
  std::string model_type = "llama";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_attention_heads unless set
  int64_t max_position_embeddings = 2048;
  int64_t sliding_window = 0;  // 0: none. Sequences longer than the window are rejected, not silently wrong.
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Qwen2 always; Llama's attention_bias
  bool o_bias = false;    // Llama's attention_bias also biases o_proj
  bool qk_norm = false;   // Qwen3: RMSNorm over head_dim on q and k before RoPE

  // `source` names the file in error messages.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source = "config.json");
  static ModelConfig from_file(const std::string& path);
  nlohmann::json to_json() const;
  // Every value in its domain; sizes at most the limits below. Errors name `source`, the key, value and limit.
  void validate(const std::string& source = "config") const;
  int64_t num_parameters() const;

  // Upper bounds on sizes read from a file (released models stay well below them: Llama-3.1-405B has hidden 16384,
  // ffn 53248, 126 layers, vocab 128256).
  static constexpr int64_t kMaxVocab = (int64_t{1} << 31) - 1;
  static constexpr int64_t kMaxWidth = int64_t{1} << 20;  // hidden_size, intermediate_size
  static constexpr int64_t kMaxLayers = 1024;
  static constexpr int64_t kMaxHeads = 4096;
  static constexpr int64_t kMaxHeadDim = 4096;
  static constexpr int64_t kMaxPositions = int64_t{1} << 24;
  static const char* why_limit(const std::string& key);
};

}  // namespace tandem
