#include "model/memory_plan.h"

#include <algorithm>
#include <cstdio>

#include "backends/backend.h"
#include "core/arena.h"
#include "core/check.h"
#include "model/activations.h"
#include "model/lora.h"
#include "model/weights.h"

namespace tandem {

std::string human_bytes(int64_t bytes) {  // 3 significant figures or so, in the unit that suits
  char buf[32];
  const double b = double(bytes);
  if (b >= 1e12) std::snprintf(buf, sizeof buf, "%.2f TB", b / 1e12);
  else if (b >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1f KB", b / 1e3);
  return buf;
}

std::string StepMemory::str() const {
  return "weights " + human_bytes(weights) + ", gradients " + human_bytes(gradients) + ", optimizer " +
         human_bytes(optimizer) + ", activations " + human_bytes(activations) + ", backward " + human_bytes(backward) +
         ", workspace " + human_bytes(workspace) + "; total " + human_bytes(total());
}

StepMemory plan_step_memory(const ModelConfig& c, const StepShape& s) {
  c.validate();
  TANDEM_CHECK(s.batch > 0 && s.seq > 0, "memory plan: batch ", s.batch, " x ", s.seq, " is empty");
  const int64_t d = c.hidden_size, F = c.intermediate_size;
  const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  // The sums below run in int64. A bound in double first (every saved or scratch tensor is at most tokens x the
  // widest dimension, a few per layer, 4 bytes each) makes an absurd size an error here instead of a wrap-around.
  const double widest = double(std::max({d, F, q, kv, c.vocab_size, int64_t(s.lora ? s.lora->r : 0)}));
  const double bound = 16.0 * double(c.num_parameters()) +
                       64.0 * double(s.batch) * double(s.seq) * widest * double(c.num_hidden_layers + 2);
  TANDEM_CHECK(bound < 0x1p62, "memory plan: ", s.batch, " x ", s.seq, " tokens on a model of ",
               c.num_parameters(), " parameters need more than 4 EiB");
  const int64_t N = s.batch * s.seq;
  const int64_t f32 = 4, elem = dtype_bytes(s.dtype);
  const bool bf16 = s.dtype == DType::kBF16;
  StepMemory m;
  m.weights = weights_bytes(c, s.dtype);
  // Gradients are f32 tensors of the trainable parameters' shapes; AdamW holds two f32 moments of the same spans
  // and, for bf16 parameters, an f32 master copy.
  const int64_t trainable = s.lora ? lora_bytes(c, *s.lora, DType::kF32) : weights_bytes(c, DType::kF32);
  if (s.lora) m.weights += lora_bytes(c, *s.lora, s.dtype);
  m.gradients = trainable;
  m.optimizer = trainable * (bf16 && s.master_weights ? 3 : 2);

  m.activations = activation_bytes(c, s.batch, s.seq, s.recompute, s.dtype);
  if (s.lora) {  // each adapter's x A^T [N, r], f32, and with dropout its dropped-out input, in every layer's table
    const int64_t tables = s.recompute ? 1 : c.num_hidden_layers;
    for (int p = 0; p < kNumProj; ++p) {
      if (!lora_targets_proj(c, *s.lora, Proj(p))) continue;
      m.activations += tables * N * s.lora->r * f32;
      if (s.lora->dropout > 0) m.activations += tables * N * proj_shape(c, Proj(p)).second * elem;
    }
  }

  // The backward pass's f32 buffers (DecoderModel::GradScratch): residual, final-norm and norm-input gradients, the
  // MLP's (three when gated), attention's four, the pre-norm q/k gradients of qk_norm models, the second norm-input
  // gradient of the parallel residual and the branch-output gradient of sandwich norms.
  int64_t grads = N * (3 * d + (c.mlp == MlpKind::kGated ? 3 : 2) * F + 2 * q + 2 * kv);
  if (c.qk_norm) grads += N * (q + kv);
  if (c.residual == ResidualKind::kParallel) grads += N * d;
  if (c.sandwich_norms) grads += N * d;
  m.backward = grads * f32;
  if (s.recompute) m.backward += N * d * f32;  // the recomputed layer's discarded output
  m.backward += N * d * elem;                 // a branch's output before the f32 residual add (LayerPass::scratch)
  m.backward += 2 * s.seq * (c.rotary_dims() / 2) * f32;  // RoPE cos and sin tables
  if (s.lora && s.lora->dropout > 0)  // LoRA dropout's mask and the gradient through it, at the widest adapted input
    m.backward += 2 * N * widest_adapted_input(c, *s.lora) * f32;

  // The LM head (backends/cpu/kernels/logprobs.cpp): a chunk of f32 logits, its bf16 rounding for bf16 GEMMs, the
  // gathered rows and their gradient. Attention (attention.cpp): f32 head-major copies of q, k, v, the output and
  // its gradient, and of the q/k/v gradients being summed.
  const int64_t rows = std::min(logits_chunk_rows(s.logits_chunk_rows, c.vocab_size), N);
  m.workspace = rows * (c.vocab_size * f32 + (bf16 ? c.vocab_size * elem : 0) + d * elem + d * f32);
  m.workspace += N * (4 * q + 4 * kv) * f32;
  return m;
}

void check_fits_in_memory(const StepMemory& m, int64_t available, const std::string& what) {
  if (available < 0) return;  // the system does not say
  TANDEM_CHECK(m.total() <= available, what, " needs about ", human_bytes(m.total()), " (", m.str(), ") but ",
               human_bytes(available), " of host memory is available (MemAvailable, capped by the cgroup limit). "
               "Smaller: use_peft = true (LoRA), bf16 = true, gradient_checkpointing = true, a smaller "
               "per_device_train_batch_size or max_length. TANDEM_SKIP_MEMORY_CHECK=1 starts anyway.");
}

}  // namespace tandem
