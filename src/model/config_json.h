// Reading config.json keys for the model families: typed, with the key and file named in every error.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "backends/activation.h"
#include "io/json_file.h"
#include "model/config.h"

namespace tandem {

// `out` keeps its default when the key is absent or null; otherwise the value must have T's JSON type (integers
// stay integers: no 32000.5 or true truncated into a size).
template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
  out = json_get_or<T>(j, key, out, source);
}

// A Hugging Face activation name ("silu", "gelu", "gelu_pytorch_tanh", "gelu_new", "gelu_fast") read from `key`;
// any other is an error naming the key and the supported names.
Activation read_activation(const nlohmann::json& j, const char* key, Activation fallback, const std::string& source);
const char* hf_activation_name(Activation act);

// attention_bias: biases on q, k, v and o (c's current value is the default).
void read_attention_bias(const nlohmann::json& j, ModelConfig& c, const std::string& source);

// An error unless `key` is absent, null or equal to `supported` (a setting Tandem does not implement).
void require_key_value(const nlohmann::json& j, const char* key, const nlohmann::json& supported,
                       const std::string& source, const char* why);

}  // namespace tandem
