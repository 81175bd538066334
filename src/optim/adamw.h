// AdamW with decoupled weight decay and bias correction, exactly as torch.optim.AdamW, plus global
// gradient-norm clipping as torch.nn.utils.clip_grad_norm_. The arithmetic runs in the parameters' backend.
#pragma once
#include <cstdint>
#include <vector>

#include "backends/backend.h"
#include "core/tensor.h"

namespace tandem {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  // bf16 parameters are updated through f32 master copies (llm.c's use_master_weights). Off: each update is rounded
  // straight into bf16, so steps below half a bf16 ulp of a weight are lost (kept for comparison, not for use).
  bool master_weights = true;
};

class AdamW {
 public:
  explicit AdamW(AdamWConfig config = {}) : config_(config) {}

  // One update of every parameter at learning rate lr, using grad_scale * grad (how clipping is applied
  // without a separate pass over the gradients). Moments (f32) are created on the first step, on the parameters'
  // device; gradients are f32 whatever the parameters' storage.
  void step(const std::vector<ParamRef>& params, double lr, double grad_scale = 1.0);

  // The state of `params` in one block on their device: zero moments, and master copies of the bf16 parameters
  // (from their current values). step() calls it first; a checkpoint load calls it and then fills the state in.
  void init_state(const std::vector<ParamRef>& params);
  int64_t steps() const { return steps_; }
  // Moment tensors (named "<param>.exp_avg" / "<param>.exp_avg_sq") for checkpoints.
  std::vector<Tensor>& exp_avg() { return m_; }
  std::vector<Tensor>& exp_avg_sq() { return v_; }
  // f32 master copies ("<param>.master") of the parameters stored in bf16, empty tensors for f32 parameters.
  // The optimizer state that makes bf16 training exact to resume.
  std::vector<Tensor>& master_weights() { return master_; }
  void set_steps(int64_t s) { steps_ = s; }
  const Tensor& state_block() const { return state_; }  // the one allocation holding all of the above
  const AdamWConfig& config() const { return config_; }

 private:
  AdamWConfig config_;
  int64_t steps_ = 0;
  Tensor state_;  // the block every tensor of m_, v_ and master_ is a view of
  std::vector<Tensor> m_, v_, master_;
};

// The constants of update number `step` (1-based) at learning rate lr: bias corrections folded in as torch does.
// Also what the sharded optimizer (dist/sharded_adamw.h) uses, so both update to the bit alike.
AdamWStep adamw_step_constants(const AdamWConfig& c, int64_t step, double lr, double grad_scale);
// The decoupled weight-decay factor of a parameter: 1 - lr * weight_decay, or 1 where decay does not apply.
inline float adamw_decay(const AdamWConfig& c, bool decay, double lr) {
  return decay ? float(1.0 - lr * c.weight_decay) : 1.0f;
}

// Global L2 norm of all gradients (accumulated in double).
double grad_global_norm(const std::vector<ParamRef>& params);
// The factor torch's clip_grad_norm_ scales gradients by: min(1, max_norm / (norm + 1e-6)); 1 when max_norm <= 0
// or the norm is not finite.
double clip_coefficient(double norm, double max_norm);
// Scales all gradients in place by clip_coefficient and returns the norm before clipping.
double clip_grad_norm(const std::vector<ParamRef>& params, double max_norm);

}  // namespace tandem
