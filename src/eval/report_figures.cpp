#include "eval/report_figures.h"

#include <algorithm>
#include <cmath>

#include "eval/number_format.h"
#include "eval/svg_plot.h"

namespace tandem {

namespace {

bool is_sft(double EvalPoint::*loss) { return loss == &EvalPoint::f_sft; }

std::string loss_label(double EvalPoint::*loss, const nlohmann::json& eval_data) {
  return is_sft(loss) ? "f_SFT (SFT loss, " + eval_data_phrase(eval_data, "sft") + ")"
                      : "f_DPO (preference loss, " + eval_data_phrase(eval_data, "preference") + ")";
}

}  // namespace

std::string eval_data_phrase(const nlohmann::json& eval_data, const char* objective) {
  if (!eval_data.is_object() || !eval_data.contains(objective) || !eval_data[objective].is_string()) return "eval set";
  const std::string kind = eval_data[objective];
  if (kind == "held_out") return "held-out eval set";
  if (kind == "training_subset") return "training subset";
  return kind;
}

Figure pareto_figure(const SweepData& s) {
  const nlohmann::json& eval_data = sweep_eval_data(s);
  PlotSpec spec{"pareto", "Final (f_DPO, f_SFT) across λ, mean ± std over seeds",
                "f_DPO (preference loss, " + eval_data_phrase(eval_data, "preference") + ")",
                "f_SFT (SFT loss, " + eval_data_phrase(eval_data, "sft") + ")", {}, true, s.ideal_dpo, s.ideal_sft, {}, ""};
  nlohmann::json series = nlohmann::json::array();
  for (const auto& method : s.methods) {
    PlotSeries line{method_style(method), {}};
    nlohmann::json points = nlohmann::json::array();
    for (double lambda : s.lambdas) {  // sorted
      const auto runs = runs_of(s, method, lambda);
      if (runs.empty()) continue;
      const MeanStd fd = over_runs(runs, [](const RunData& r) { return number_at(r.summary, {"final", "f_dpo"}); });
      const MeanStd fs = over_runs(runs, [](const RunData& r) { return number_at(r.summary, {"final", "f_sft"}); });
      if (fd.n == 0 || fs.n == 0) continue;
      line.points.push_back({fd.mean, fs.mean, fd.std, fs.std, "λ=" + lambda_text(lambda)});
      points.push_back({{"lambda", lambda},
                        {"seeds", runs.size()},
                        {"f_dpo", {{"mean", fd.mean}, {"std", fd.std}}},
                        {"f_sft", {{"mean", fs.mean}, {"std", fs.std}}}});
    }
    spec.series.push_back(line);
    series.push_back({{"method", method}, {"points", points}});
  }
  const std::string svg = svg_plot(spec);
  auto scale = [&](const char* attr) { return svg.find(std::string(attr) + "=\"log\"") != std::string::npos ? "log" : "linear"; };
  return {svg,
          {{"ideal", {{"f_sft", s.ideal_sft}, {"f_dpo", s.ideal_dpo}}},
           {"x", "f_dpo"},
           {"y", "f_sft"},
           {"x_scale", scale("data-x-scale")},
           {"y_scale", scale("data-y-scale")},
           {"series", series}}};
}

Figure sweep_curve_figure(const SweepData& s, double lambda, double EvalPoint::*loss) {
  const char* objective = is_sft(loss) ? "f_sft" : "f_dpo";
  PlotSpec spec{std::string("curve-") + objective + "-lambda" + lambda_text(lambda),
                std::string(is_sft(loss) ? "f_SFT" : "f_DPO") + " vs step at λ = " + lambda_text(lambda) +
                    ", mean ± std over seeds",
                "step", loss_label(loss, sweep_eval_data(s)), {}, false, 0, 0,
                {is_sft(loss) ? s.ideal_sft : s.ideal_dpo}, is_sft(loss) ? "f*_SFT" : "f*_DPO"};
  nlohmann::json series = nlohmann::json::array();
  for (const auto& method : s.methods) {
    const auto runs = runs_of(s, method, lambda);
    if (runs.empty()) continue;
    const MeanCurve c = mean_curve(runs, loss);
    if (c.steps.empty()) continue;
    PlotSeries line{method_style(method), {}};
    for (size_t i = 0; i < c.steps.size(); ++i) line.points.push_back({double(c.steps[i]), c.mean[i], 0, c.std[i], ""});
    spec.series.push_back(line);
    series.push_back({{"method", method}, {"seeds", runs.size()}, {"steps", c.steps}, {"mean", c.mean}, {"std", c.std}});
  }
  if (spec.series.empty()) return {"", nullptr};
  return {svg_plot(spec), {{"lambda", lambda}, {"objective", objective}, {"series", series}}};
}

Figure run_curve_figure(const RunData& run, double EvalPoint::*loss, const nlohmann::json& eval_data) {
  const char* objective = is_sft(loss) ? "f_sft" : "f_dpo";
  PlotSpec spec{std::string("curve-") + objective, std::string(is_sft(loss) ? "f_SFT" : "f_DPO") + " vs step",
                "step", loss_label(loss, eval_data), {}, false, 0, 0, {}, ""};
  PlotSeries line{method_style(run.method), {}};
  std::vector<int64_t> steps;
  std::vector<double> values;
  for (const auto& p : run.evals)
    if (std::isfinite(p.*loss)) {
      line.points.push_back({double(p.step), p.*loss, 0, 0, ""});
      steps.push_back(p.step);
      values.push_back(p.*loss);
    }
  if (steps.empty()) return {"", nullptr};
  spec.series.push_back(line);
  return {svg_plot(spec), {{"objective", objective}, {"steps", steps}, {"values", values}}};
}

}  // namespace tandem
