#include "optim/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "model/weights.h"

namespace tandem {

void AdamW::step(const std::vector<ParamRef>& params, double lr, double grad_scale) {
  if (m_.empty())
    for (const auto& p : params) {
      m_.emplace_back(p.value->name + ".exp_avg", p.value->shape);
      v_.emplace_back(p.value->name + ".exp_avg_sq", p.value->shape);
    }
  TANDEM_CHECK(m_.size() == params.size(), "AdamW: optimizer state holds ", m_.size(), " tensors but ",
               params.size(), " parameters were given");
  ++steps_;
  const auto& c = config_;
  const double bc1 = 1.0 - std::pow(c.beta1, double(steps_));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(c.beta2, double(steps_)));
  const float step_size = float(lr / bc1);
  const float b1 = float(c.beta1), b2 = float(c.beta2), eps = float(c.eps), gs = float(grad_scale);
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor& p = *params[i].value;
    const Tensor& g = *params[i].grad;
    p.expect_shape(g.shape);
    m_[i].expect_shape(p.shape);
    const float decay = params[i].decay ? float(1.0 - lr * c.weight_decay) : 1.0f;
    float* pv = p.ptr();
    float* m = m_[i].ptr();
    float* v = v_[i].ptr();
    const float* gv = g.ptr();
    const int64_t n = p.numel();
#pragma omp parallel for simd schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      const float gj = gv[j] * gs;
      pv[j] *= decay;
      m[j] = b1 * m[j] + (1.0f - b1) * gj;
      v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
      const float denom = std::sqrt(v[j]) / float(bc2_sqrt) + eps;
      pv[j] -= step_size * m[j] / denom;
    }
  }
}

double grad_global_norm(const std::vector<ParamRef>& params) {
  double sum_sq = 0;
  for (const auto& p : params) {
    const float* g = p.grad->ptr();
    const int64_t n = p.grad->numel();
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (int64_t j = 0; j < n; ++j) s += double(g[j]) * double(g[j]);
    sum_sq += s;
  }
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
    for (const auto& p : params) {
      float* g = p.grad->ptr();
      const int64_t n = p.grad->numel();
#pragma omp parallel for simd schedule(static)
      for (int64_t j = 0; j < n; ++j) g[j] *= float(coef);
    }
  return norm;
}

std::vector<ParamRef> model_params(ModelWeights& weights, ModelWeights& grads) {
  std::vector<Tensor*> values, gradients;
  for_each_tensor(weights, [&](Tensor& t) { values.push_back(&t); });
  for_each_tensor(grads, [&](Tensor& t) { gradients.push_back(&t); });
  TANDEM_CHECK(values.size() == gradients.size(), "model_params: weights and grads differ in layout");
  std::vector<ParamRef> out;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& n = values[i]->name;
    const bool no_decay = n.find("norm") != std::string::npos || n.ends_with(".bias");
    out.push_back({values[i], gradients[i], !no_decay});
  }
  return out;
}

}  // namespace tandem
