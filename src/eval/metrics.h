// Summary statistics for comparing methods: mean +- std over seeds and distances to the ideal point.
#pragma once
#include <vector>

namespace tandem {

struct MeanStd {
  double mean = 0, std = 0;  // sample standard deviation (n - 1); 0 for a single value
  int n = 0;
};
MeanStd mean_std(const std::vector<double>& values);

// Euclidean norm of the optimality gaps (f_SFT - f*_SFT, f_DPO - f*_DPO).
double ideal_distance(double f_sft, double f_dpo, double ideal_sft, double ideal_dpo);
// The same with each gap divided by that objective's gap at the start of training, so objectives on different
// scales count alike (1 = no closer than the initial model on either axis).
double normalised_ideal_distance(double f_sft, double f_dpo, double ideal_sft, double ideal_dpo, double initial_sft,
                                 double initial_dpo);

}  // namespace tandem
