// One declarative table per architecture (gemma.cpp's tensor_info.cc): every parameter's Hugging Face name, shape,
// role and checkpoint layout, and where it lives in ModelWeights. It drives allocation, checkpoint names and
// load/save transforms, initialisation and weight decay; LoRA's PEFT module names come from the same family names.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/config.h"

namespace tandem {

struct LayerWeights;
struct ModelWeights;

enum class ParamRole {
  kEmbedding,  // normal init, decayed
  kMatrix,     // normal init, decayed
  kBias,       // zero init, not decayed
  kNormScale,  // the norm's identity (1, or 0 for a (1 + w) weight), not decayed
  kNormBias,   // zero init, not decayed
};

struct ParamInfo {
  std::string name;  // the checkpoint name, "gpt_neox.layers.0.attention.query_key_value.weight"
  Shape shape;
  ParamRole role;
  int64_t layer = -1;  // -1: not a layer's
  Tensor LayerWeights::*in_layer = nullptr;
  Tensor ModelWeights::*in_model = nullptr;
  // GPT-NeoX's query_key_value stores rows per head ([q_h; k_h; v_h] for each head h); Tandem keeps [q; k; v] so
  // that each projection is a contiguous row block. > 0: the checkpoint's head count to interleave by.
  int64_t interleaved_heads = 0;
  float identity = 0;  // the value of a norm scale that leaves its input unscaled: 1, or 0 for a (1 + w) weight


  bool decays() const { return role == ParamRole::kEmbedding || role == ParamRole::kMatrix; }
};

std::vector<ParamInfo> tensor_table(const ModelConfig& c);

// A checkpoint tensor in the model's row order, and back (identity unless interleaved_heads > 0). Host tensors.
Tensor from_checkpoint_layout(Tensor t, int64_t interleaved_heads);
Tensor to_checkpoint_layout(const Tensor& t, int64_t interleaved_heads);

}  // namespace tandem
