// The report's figures, each with the data behind it as JSON (embedded in the page, so a reader or a test can
// check every plotted number against the runs): the paper's key figure (final (f_DPO, f_SFT) of every method
// across lambda, mean ± std over seeds, with the ideal point) and the loss-vs-step curves per objective.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "eval/report_data.h"

namespace tandem {

struct Figure {
  std::string svg;
  nlohmann::json data;
};

// What the losses were measured on, for axis labels and text: "held-out eval set", "training subset" or, when the
// sweep did not record it, "eval set". `objective` is "sft" or "preference".
std::string eval_data_phrase(const nlohmann::json& eval_data, const char* objective);

// Final (f_DPO, f_SFT) per method, one line through its lambdas in lambda order. The losses themselves are
// plotted (not the gaps f - f*, which can be negative: a joint run can end below a single-objective run).
Figure pareto_figure(const SweepData& sweep);
// f_SFT (loss = &EvalPoint::f_sft) or f_DPO against step at one lambda, one line per method (mean over seeds,
// std bars), f* as a dotted line. Empty svg when no run logged that loss.
Figure sweep_curve_figure(const SweepData& sweep, double lambda, double EvalPoint::*loss);
// The same for one run.
Figure run_curve_figure(const RunData& run, double EvalPoint::*loss, const nlohmann::json& eval_data);

}  // namespace tandem
