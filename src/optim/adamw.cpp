#include "optim/adamw.h"

#include <algorithm>
#include <cmath>

#include "backends/backend.h"
#include "core/check.h"

namespace tandem {

void AdamW::step(const std::vector<ParamRef>& params, double lr, double grad_scale) {
  const DType f32 = DType::kF32;
  if (m_.empty())
    for (const auto& p : params) {
      const Tensor& t = *p.value;
      const DType state = t.dtype() == DType::kF64 ? DType::kF64 : f32;
      m_.emplace_back(t.name + ".exp_avg", t.shape, state, t.allocator());
      v_.emplace_back(t.name + ".exp_avg_sq", t.shape, state, t.allocator());
    }
  if (master_.size() != params.size()) {
    master_.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor& t = *params[i].value;
      if (t.dtype() == DType::kBF16 && master_[i].empty() && config_.master_weights) {
        master_[i] = t.to(f32, t.allocator());
        master_[i].name = t.name + ".master";
      }
    }
  }
  TANDEM_CHECK(m_.size() == params.size(), "AdamW: optimizer state holds ", m_.size(), " tensors but ",
               params.size(), " parameters were given");
  ++steps_;
  const auto& c = config_;
  const double bc1 = 1.0 - std::pow(c.beta1, double(steps_));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(c.beta2, double(steps_)));
  AdamWStep s{float(lr / bc1), float(c.beta1), float(c.beta2), float(c.eps), 1.0f, float(bc2_sqrt),
              float(grad_scale)};
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor& p = *params[i].value;
    p.expect_shape(params[i].grad->shape);
    m_[i].expect_shape(p.shape);
    s.decay = params[i].decay ? float(1.0 - lr * c.weight_decay) : 1.0f;
    Tensor* master = master_[i].empty() ? nullptr : &master_[i];
    backend_of(p).adamw_step(p, *params[i].grad, m_[i], v_[i], master, s);
  }
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
