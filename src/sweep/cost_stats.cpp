#include "sweep/cost_stats.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace tandem {

namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Continued fraction of the incomplete beta function (Lentz's method, as in Numerical Recipes' betacf).
double beta_continued_fraction(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::fabs(d) < tiny ? tiny : d);
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    for (int odd = 0; odd < 2; ++odd) {
      const double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
      d = 1 + num * d;
      d = 1 / (std::fabs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (std::fabs(c) < tiny) c = tiny;
      h *= d * c;
      if (odd && std::fabs(d * c - 1) < 1e-15) return h;
    }
  }
  return h;
}

// I_x(a, b), the regularized incomplete beta function.
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(a, b, x) / a;
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

// P(T <= t) for Student's t with df degrees of freedom.
double student_t_cdf(double t, int df) {
  const double tail = 0.5 * incomplete_beta(0.5 * df, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

}  // namespace

SampleSpread sample_spread(const std::vector<double>& samples) {
  TANDEM_CHECK(!samples.empty(), "cost measurement: no samples");
  const auto [lo, hi] = std::minmax_element(samples.begin(), samples.end());
  return {median_of(samples), *lo, *hi, samples};
}

double student_t_quantile(double p, int df) {
  TANDEM_CHECK(df >= 1 && p > 0 && p < 1, "student_t_quantile: needs df >= 1 and 0 < p < 1, got df = ", df,
               ", p = ", p);
  // The CDF is increasing: bisect on a bracket that holds any quantile of interest (|t| < 1e6 for p in
  // [1e-6, 1 - 1e-6] at df = 1, tighter for larger df).
  double lo = -1e7, hi = 1e7;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * std::max(1.0, std::fabs(lo)); ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

PairedComparison compare_paired(const std::vector<double>& method, const std::vector<double>& sequential) {
  TANDEM_CHECK(method.size() == sequential.size() && !method.empty(), "cost measurement: ", method.size(),
               " method samples for ", sequential.size(), " Sequential samples; they pair by round");
  std::vector<double> ratios, logs;
  for (size_t r = 0; r < method.size(); ++r) {
    ratios.push_back(method[r] / sequential[r]);
    logs.push_back(std::log(ratios.back()));
  }
  PairedComparison c;
  c.pct = 100 * (median_of(ratios) - 1);
  const size_t n = logs.size();
  if (n < 3) return c;  // two rounds give a t-interval with 12.7 x the spread: no useful statement
  double mean = 0, var = 0;
  for (double x : logs) mean += x / double(n);
  for (double x : logs) var += (x - mean) * (x - mean) / double(n - 1);
  const double half = student_t_quantile(0.975, int(n) - 1) * std::sqrt(var / double(n));
  c.ci95 = std::pair{100 * (std::exp(mean - half) - 1), 100 * (std::exp(mean + half) - 1)};
  c.within_noise = c.ci95->first <= 0 && c.ci95->second >= 0;
  return c;
}

}  // namespace tandem
