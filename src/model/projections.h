// The seven linear projections of a decoder layer, the units the forward/backward passes, generation and LoRA
// compute with. Fused checkpoint tensors (Phi-3 qkv_proj and gate_up_proj, GPT-NeoX query_key_value) are stored as
// one tensor whose row blocks are these projections' weights (model/tensor_table.h).
#pragma once
#include <cstdint>
#include <utility>

namespace tandem {

struct ModelConfig;

enum class Proj { kQ, kK, kV, kO, kGate, kUp, kDown };
constexpr int kNumProj = 7;
const char* proj_name(Proj p);  // "q", "k", ... for messages
// [out, in] of projection p; {0, 0} for gate when the MLP is not gated.
std::pair<int64_t, int64_t> proj_shape(const ModelConfig& c, Proj p);
bool proj_exists(const ModelConfig& c, Proj p);

}  // namespace tandem
