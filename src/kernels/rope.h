// Rotary position embedding in the Hugging Face Llama convention: each head vector is split in halves
// (x1, x2) and rotated as (x1 cos - x2 sin, x2 cos + x1 sin), frequency i shared by x1[i] and x2[i].
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

// cos/sin tables [positions, head_dim / 2], and a view of them (what the kernels read; device tensors view too).
struct RopeView {
  const float* cos;
  const float* sin;
  int64_t positions, half;
};
struct RopeTable {
  int64_t positions = 0, half = 0;
  std::vector<float> cos, sin;
  operator RopeView() const { return {cos.data(), sin.data(), positions, half}; }
};
RopeTable rope_table(int64_t positions, int64_t head_dim, double theta, const RopeScaling& scaling);

// x: [batch, seq, heads, head_dim], rotated in place. The position of row (b, t) is positions[b * seq + t], or t
// when positions is null (packed rows restart positions per example).
template <typename F>
void rope_forward(F* x, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                  const int32_t* positions = nullptr);

// The rotation is orthogonal: the backward pass rotates the gradient by the inverse angle, in place.
template <typename F>
void rope_backward(F* dx, const RopeView& table, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                   const int32_t* positions = nullptr);

}  // namespace tandem
