// Central-difference gradient checking in double precision. With h = 1e-5 the truncation error is ~h^2 and
// the rounding error ~1e-16/h, so analytic and numeric gradients of a correct kernel agree to ~1e-9; the
// tolerance used by the tests (1e-7, relative to max(1, |g|)) fails on any real mistake.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"

namespace tandem::testing {

inline std::vector<double> random_vector(Rng& rng, size_t n, double scale = 1.0) {
  std::vector<double> v(n);
  for (auto& x : v) x = rng.normal() * scale;
  return v;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

constexpr double kGradTol = 1e-7;

// Checks d(loss)/d(input) against `analytic` for every element of `input` (n values, changed in place and restored).
inline void expect_gradient(const std::string& what, double* input, size_t n, const double* analytic,
                            const std::function<double()>& loss, double h = 1e-5) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const double saved = input[i];
    input[i] = saved + h;
    const double up = loss();
    input[i] = saved - h;
    const double down = loss();
    input[i] = saved;
    const double numeric = (up - down) / (2 * h);
    const double err = std::abs(numeric - analytic[i]) / std::max(1.0, std::abs(numeric));
    worst = std::max(worst, err);
    ASSERT_LE(err, kGradTol) << what << "[" << i << "]: analytic " << analytic[i] << " numeric " << numeric;
  }
  ::testing::Test::RecordProperty(what + "_max_rel_err", std::to_string(worst));
}

inline void expect_gradient(const std::string& what, std::vector<double>& input, const std::vector<double>& analytic,
                            const std::function<double()>& loss, double h = 1e-5) {
  ASSERT_EQ(input.size(), analytic.size()) << what;
  expect_gradient(what, input.data(), input.size(), analytic.data(), loss, h);
}

}  // namespace tandem::testing
