// The statistics of the controlled cost measurement: a sample's median/min/max, Student's t quantile, and the
// paired comparison of a method with Sequential (one ratio per round, so the rounds' shared machine load cancels).
#pragma once
#include <optional>
#include <utility>
#include <vector>

namespace tandem {

struct SampleSpread {
  double median = 0, min = 0, max = 0;
  std::vector<double> samples;
};
SampleSpread sample_spread(const std::vector<double>& samples);  // samples must be non-empty

// The p-quantile of Student's t distribution with `df` degrees of freedom (df >= 1, 0 < p < 1), from the
// regularized incomplete beta function; accurate to ~1e-10.
double student_t_quantile(double p, int df);

// A method against Sequential over paired rounds: ratio_r = method_r / sequential_r.
struct PairedComparison {
  double pct = 0;                                  // 100 (median ratio - 1)
  std::optional<std::pair<double, double>> ci95;   // in %; a t-interval on the log ratios, absent with < 3 rounds
  bool within_noise = false;                       // the interval contains 0 %; false without an interval
};
PairedComparison compare_paired(const std::vector<double>& method, const std::vector<double>& sequential);

}  // namespace tandem
