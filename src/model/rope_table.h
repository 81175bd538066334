// Rotary position embedding tables in the Hugging Face Llama convention (the `rope_scaling` of config.json included):
// computed on the host once per sequence length, uploaded, and read by the backends' rope op.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem {

// `rope_scaling` of config.json. type "default" (none), "linear" or "llama3".
struct RopeScaling {
  std::string type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

// Inverse frequencies for head_dim, computed in fp32 the way transformers does, so tables match bit-closely.
std::vector<float> rope_inv_freq(int64_t head_dim, double theta, const RopeScaling& scaling);

// cos/sin tables [positions, head_dim / 2].
struct RopeTable {
  int64_t positions = 0, half = 0;
  std::vector<float> cos, sin;
};
RopeTable rope_table(int64_t positions, int64_t head_dim, double theta, const RopeScaling& scaling);

}  // namespace tandem
