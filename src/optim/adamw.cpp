#include "optim/adamw.h"

#include <algorithm>
#include <cmath>

#include "backends/backend.h"
#include "core/arena.h"
#include "core/check.h"

namespace tandem {

void AdamW::init_state(const std::vector<ParamRef>& params) {
  const size_t n = params.size();
  m_.assign(n, Tensor()), v_.assign(n, Tensor()), master_.assign(n, Tensor());
  // Grouped as llm.c's m_memory / v_memory / master_weights: every first moment, every second, every master copy.
  auto state_dtype = [](const Tensor& p) { return p.dtype() == DType::kF64 ? DType::kF64 : DType::kF32; };
  std::vector<TensorSlot> slots;
  for (size_t i = 0; i < n; ++i) {
    const Tensor& p = *params[i].value;
    slots.push_back({&m_[i], p.name + ".exp_avg", p.shape, state_dtype(p)});
  }
  for (size_t i = 0; i < n; ++i) {
    const Tensor& p = *params[i].value;
    slots.push_back({&v_[i], p.name + ".exp_avg_sq", p.shape, state_dtype(p)});
  }
  for (size_t i = 0; i < n; ++i) {
    const Tensor& p = *params[i].value;
    if (p.dtype() == DType::kBF16 && config_.master_weights)
      slots.push_back({&master_[i], p.name + ".master", p.shape, DType::kF32});
  }
  Allocator* alloc = n ? params[0].value->allocator() : nullptr;
  for (const auto& p : params)
    TANDEM_CHECK(p.value->allocator() == alloc, "AdamW: parameter ", p.value->name,
                 " is on another device than ", params[0].value->name);
  state_ = place_in_arena("adamw state", slots, alloc);
  for (size_t i = 0; i < n; ++i)
    if (!master_[i].empty()) master_[i].copy_from(*params[i].value);
}

void AdamW::step(const std::vector<ParamRef>& params, double lr, double grad_scale) {
  if (m_.empty()) init_state(params);
  TANDEM_CHECK(m_.size() == params.size(), "AdamW: optimizer state holds ", m_.size(), " tensors but ",
               params.size(), " parameters were given");
  AdamWStep s = adamw_step_constants(config_, ++steps_, lr, grad_scale);
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor& p = *params[i].value;
    p.expect_shape(params[i].grad->shape);
    m_[i].expect_shape(p.shape);
    s.decay = adamw_decay(config_, params[i].decay, lr);
    Tensor* master = master_[i].empty() ? nullptr : &master_[i];
    backend_of(p).adamw_step(p, *params[i].grad, m_[i], v_[i], master, s);
  }
}

AdamWStep adamw_step_constants(const AdamWConfig& c, int64_t step, double lr, double grad_scale) {
  const double bc1 = 1.0 - std::pow(c.beta1, double(step));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(c.beta2, double(step)));
  return {float(lr / bc1), float(c.beta1), float(c.beta2), float(c.eps), 1.0f, float(bc2_sqrt), float(grad_scale)};
}

double grad_global_norm(const std::vector<ParamRef>& params) {
  double sum_sq = 0;
  for (const auto& p : params) sum_sq += backend_of(*p.grad).sum_squares(*p.grad);
  return std::sqrt(sum_sq);
}

double clip_coefficient(double norm, double max_norm) {
  if (max_norm <= 0 || !std::isfinite(norm)) return 1.0;
  return std::min(1.0, max_norm / (norm + 1e-6));
}

double clip_grad_norm(const std::vector<ParamRef>& params, double max_norm) {
  const double norm = grad_global_norm(params);
  const double coef = clip_coefficient(norm, max_norm);
  if (coef < 1.0)
    for (const auto& p : params) backend_of(*p.grad).scale(*p.grad, float(coef));
  return norm;
}

}  // namespace tandem
