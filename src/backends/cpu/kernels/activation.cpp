#include "backends/cpu/kernels/activation.h"

#include <cmath>

#include "core/fastmath.h"

namespace tandem {

namespace {

// Each activation's value and derivative at x, computed together where they share work.
struct Silu {
  template <typename F>
  static F value(F x) {
    return x * (F(1) / (F(1) + exp_fast(-x)));
  }
  template <typename F>
  static F derivative(F x, F& value) {
    const F sig = F(1) / (F(1) + exp_fast(-x));
    value = x * sig;
    return sig * (F(1) + x * (F(1) - sig));  // d(x sig) = sig + x sig (1 - sig)
  }
};

// Exact GELU: x Phi(x) with Phi the standard normal CDF; derivative Phi(x) + x phi(x).
struct Gelu {
  static constexpr double kInvSqrt2 = 0.70710678118654752440;
  static constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)
  template <typename F>
  static F value(F x) {
    return F(0.5) * x * (F(1) + std::erf(x * F(kInvSqrt2)));
  }
  template <typename F>
  static F derivative(F x, F& value) {
    const F cdf = F(0.5) * (F(1) + std::erf(x * F(kInvSqrt2)));
    value = x * cdf;
    const F pdf = F(kInvSqrt2Pi) * exp_fast(F(-0.5) * x * x);
    return cdf + x * pdf;
  }
};

// Tanh GELU: 0.5 x (1 + t), t = tanh(u), u = k (x + c x^3); derivative 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2).
struct GeluTanh {
  static constexpr double kK = 0.79788456080286535588;  // sqrt(2 / pi)
  static constexpr double kC = 0.044715;
  template <typename F>
  static F value(F x) {
    return F(0.5) * x * (F(1) + std::tanh(F(kK) * (x + F(kC) * x * x * x)));
  }
  template <typename F>
  static F derivative(F x, F& value) {
    const F t = std::tanh(F(kK) * (x + F(kC) * x * x * x));
    value = F(0.5) * x * (F(1) + t);
    return F(0.5) * (F(1) + t) + F(0.5) * x * (F(1) - t * t) * F(kK) * (F(1) + F(3 * kC) * x * x);
  }
};

// fn(A{}) with A the functor of `act`: the switch runs once per call, not per element.
template <typename Fn>
void with_activation(Activation act, Fn&& fn) {
  switch (act) {
    case Activation::kSilu: return fn(Silu{});
    case Activation::kGelu: return fn(Gelu{});
    case Activation::kGeluTanh: return fn(GeluTanh{});
  }
}

}  // namespace

template <typename S>
void glu_forward(S* out, const S* gate, const S* up, int64_t n, Activation act) {
  using F = compute_t<S>;
  with_activation(act, [&](auto a) {
    using A = decltype(a);
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) out[i] = store<S>(A::value(F(load(gate[i]))) * load(up[i]));
  });
}

template <typename S>
void glu_backward(compute_t<S>* dgate, compute_t<S>* dup, const compute_t<S>* dout, const S* gate, const S* up,
                  int64_t n, Activation act) {
  using F = compute_t<S>;
  with_activation(act, [&](auto a) {
    using A = decltype(a);
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      F value;
      const F slope = A::derivative(F(load(gate[i])), value);
      dgate[i] += dout[i] * load(up[i]) * slope;
      dup[i] += dout[i] * value;
    }
  });
}

template <typename S>
void activation_forward(S* out, const S* x, int64_t n, Activation act) {
  using F = compute_t<S>;
  with_activation(act, [&](auto a) {
    using A = decltype(a);
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) out[i] = store<S>(A::value(F(load(x[i]))));
  });
}

template <typename S>
void activation_backward(compute_t<S>* dx, const compute_t<S>* dout, const S* x, int64_t n, Activation act) {
  using F = compute_t<S>;
  with_activation(act, [&](auto a) {
    using A = decltype(a);
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      F value;
      dx[i] += dout[i] * A::derivative(F(load(x[i])), value);
    }
  });
}

#define TANDEM_INSTANTIATE(S)                                                                                     \
  template void glu_forward<S>(S*, const S*, const S*, int64_t, Activation);                                     \
  template void glu_backward<S>(compute_t<S>*, compute_t<S>*, const compute_t<S>*, const S*, const S*, int64_t,  \
                                Activation);                                                                     \
  template void activation_forward<S>(S*, const S*, int64_t, Activation);                                        \
  template void activation_backward<S>(compute_t<S>*, const compute_t<S>*, const S*, int64_t, Activation);
TANDEM_INSTANTIATE(float)
TANDEM_INSTANTIATE(double)
TANDEM_INSTANTIATE(bf16)
#undef TANDEM_INSTANTIATE

}  // namespace tandem
