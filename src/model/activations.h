// Every activation a decoder layer saves for its backward pass, in one enumerated table (llm.c's
// ActivationTensors): name and shape per entry, so activation memory is computed from the config and the batch,
// not measured after the fact. N = batch * seq tokens, d = hidden, H/G = query/kv heads, D = head_dim, F = ffn.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "model/config.h"

namespace tandem {

enum class Act {
  kH1,          // [N, d]      the attention's input norm of x
  kMean1,       // [N]         its mean (LayerNorm only, f32 statistics)
  kRstd1,       // [N]         its 1/rms or 1/std (f32 statistics)
  kQPre,        // [N, H*D]    q before the per-head norm (Qwen3 q/k norm only)
  kKPre,        // [N, G*D]    k before the per-head norm (q/k norm only)
  kRstdQ,       // [N*H]       per-head 1/rms of q (q/k norm only)
  kRstdK,       // [N*G]       per-head 1/rms of k (q/k norm only)
  kQ,           // [N, H*D]    rotated queries
  kK,           // [N, G*D]    rotated keys
  kV,           // [N, G*D]    values
  kAtt,         // [N, H*D]    attention output, before o_proj
  kLse,         // [B*H*T]     attention's per-row log-sum-exp
  kAttnOut,     // [N, d]      o_proj output, input of the attention output norm (sandwich norms only)
  kRstdAttnOut, // [N]         its 1/rms (sandwich norms only)
  kXMid,        // [N, d]      residual stream after attention (sequential residual only)
  kH2,          // [N, d]      the MLP's input norm of x_mid (parallel residual: of x)
  kMean2,       // [N]         (LayerNorm only)
  kRstd2,       // [N]
  kGate,        // [N, F]      gate_proj output (gated MLP only)
  kUp,          // [N, F]      up_proj output
  kMlpAct,      // [N, F]      act(gate) * up, or act(up): the input of down_proj
  kMlpOut,      // [N, d]      down_proj output, input of the MLP output norm (sandwich norms only)
  kRstdMlpOut,  // [N]         (sandwich norms only)
};
constexpr int kNumActs = 23;

const char* act_name(Act a);
// Storage of activation `a` when the model computes in `dtype`: bf16 for matmul inputs and outputs, f32 for norm
// statistics, the attention LSE and the residual stream after attention (bf16 training keeps the residual f32).
DType act_dtype(Act a, DType dtype);
// The shape of activation `a` for a batch of B x T tokens; {0} when the config does not use it.
Shape act_shape(Act a, const ModelConfig& c, int64_t B, int64_t T);
// Where every saved activation of one forward lives in the model's single activation block: each layer's table
// (one shared table when recomputing), the residual stream (f32) at each layer boundary, and the final norm's output
// and statistics. Byte offsets, each 64-byte aligned. LoRA branches are not included.
struct ActivationLayout {
  int64_t bytes = 0;                                  // the whole block
  std::vector<std::array<int64_t, kNumActs>> layers;  // offset of each table entry, per stored layer
  std::vector<int64_t> residual;                      // [layers + 1]
  int64_t final_norm_out = 0, final_norm_rstd = 0, final_norm_mean = 0;
};
ActivationLayout activation_layout(const ModelConfig& c, int64_t B, int64_t T, bool recompute, DType dtype);
// The block's size: what a forward of B x T tokens holds until its backward.
int64_t activation_bytes(const ModelConfig& c, int64_t B, int64_t T, bool recompute, DType dtype = DType::kF32);

}  // namespace tandem
