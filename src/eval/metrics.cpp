#include "eval/metrics.h"

#include <cmath>

namespace tandem {

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd m;
  m.n = int(values.size());
  if (values.empty()) return {std::nan(""), std::nan(""), 0};
  for (double v : values) m.mean += v / double(m.n);
  if (m.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - m.mean) * (v - m.mean);
    m.std = std::sqrt(ss / double(m.n - 1));
  }
  return m;
}

double ideal_distance(double f_sft, double f_dpo, double ideal_sft, double ideal_dpo) {
  return std::hypot(f_sft - ideal_sft, f_dpo - ideal_dpo);
}

double normalised_ideal_distance(double f_sft, double f_dpo, double ideal_sft, double ideal_dpo, double initial_sft,
                                 double initial_dpo) {
  return std::hypot((f_sft - ideal_sft) / (initial_sft - ideal_sft), (f_dpo - ideal_dpo) / (initial_dpo - ideal_dpo));
}

}  // namespace tandem
