#include "eval/report.h"

#include <cmath>
#include <sstream>

#include "core/check.h"
#include "eval/number_format.h"
#include "eval/report_data.h"
#include "eval/report_figures.h"
#include "eval/report_table.h"
#include "eval/report_text.h"
#include "eval/svg_plot.h"

namespace tandem {

namespace {

std::string page_head(const std::string& title) {
  return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
         "</title><style>body{font-family:sans-serif;max-width:1180px;margin:24px auto;color:#111;line-height:1.4}"
         "table{border-collapse:collapse;margin:12px 0;font-size:13px}th,td{border:1px solid #999;padding:3px 7px;"
         "text-align:right;white-space:nowrap}th{background:#eee}td:first-child,th:first-child{text-align:left}"
         ".plots{display:flex;flex-wrap:wrap;gap:12px}.note{color:#333;font-size:13px}</style></head><body><h1>" +
         html_escape(title) + "</h1>";
}

// The figures' data, as the page's only script element; "</" is escaped so no string can close it.
std::string figure_data_script(const nlohmann::json& data) {
  std::string text = data.dump();
  for (size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 2)) text.replace(at, 2, "<\\/");
  return "<script type=\"application/json\" id=\"figure-data\">" + text + "</script>";
}

}  // namespace

std::string sweep_report_html(const std::string& sweep_dir) {
  const SweepData s = read_sweep(sweep_dir);
  std::ostringstream html;
  html << page_head(sweep_title(s)) << sweep_intro_html(s);

  nlohmann::json data = {{"kind", "sweep"}};
  const Figure pareto = pareto_figure(s);
  data["pareto"] = pareto.data;
  html << "<h2>Final losses across λ</h2>" << pareto.svg
       << "<p class=\"note\">Each method is one line through its λ values (labelled), at the mean over seeds of its "
          "final losses, with ± one std error bars in both axes; the star is the ideal point. The losses themselves "
          "are plotted, not the gaps f − f*, which can be negative (a joint run can end below a single-objective "
          "run). An axis is log10 when its values span more than a decade (max / min &gt; 10), so the points near "
          "the ideal get a fair share of the width.</p>";

  html << "<h2>Losses during training</h2><p class=\"note\">Per λ, each objective's loss at every evaluation, one "
          "line per method (mean over seeds, ± one std bars); the dotted line is that objective's ideal value.</p>"
          "<div class=\"plots\">";
  data["curves"] = nlohmann::json::array();
  for (double lambda : s.lambdas)
    for (double EvalPoint::*loss : {&EvalPoint::f_sft, &EvalPoint::f_dpo}) {
      const Figure f = sweep_curve_figure(s, lambda, loss);
      if (f.svg.empty()) continue;
      html << f.svg;
      data["curves"].push_back(f.data);
    }
  html << "</div>";

  html << "<h2>Final results (mean ± std over seeds)</h2>" << results_table_html(results_table(s), "results")
       << "<h2>Findings (computed from the runs above)</h2><ul>" << sweep_findings_html(s) << "</ul>"
       << "<p class=\"note\">Per-run metrics: <code>" << html_escape(sweep_dir)
       << "/runs.jsonl</code>; every run's evaluations and steps: <code>metrics.jsonl</code> in its folder.</p>"
       << figure_data_script(data) << "</body></html>\n";
  return html.str();
}

std::string run_report_html(const std::string& run_dir) {
  const RunData r = read_run(run_dir);
  const nlohmann::json none;
  const nlohmann::json& eval_data = r.summary.contains("eval_data") ? r.summary["eval_data"] : none;
  std::ostringstream html;
  std::ostringstream lambda;
  if (std::isfinite(r.lambda)) lambda << ", λ = " << r.lambda;
  html << page_head("Tandem run: " + method_style(r.method).label + lambda.str())
       << "<p>One <code>tandem train</code> run (" << html_escape(run_dir) << "), seed "
       << count_text(number_at(r.summary, {"seed"})) << ", " << count_text(number_at(r.summary, {"steps"}))
       << " steps. f_SFT is measured on the " << eval_data_phrase(eval_data, "sft") << ", f_DPO on the "
       << eval_data_phrase(eval_data, "preference") << ".</p>";

  nlohmann::json data = {{"kind", "run"}, {"final", r.summary["final"]}, {"curves", nlohmann::json::array()}};
  html << "<h2>Losses during training</h2><div class=\"plots\">";
  for (double EvalPoint::*loss : {&EvalPoint::f_sft, &EvalPoint::f_dpo}) {
    const Figure f = run_curve_figure(r, loss, eval_data);
    if (f.svg.empty()) continue;
    html << f.svg;
    data["curves"].push_back(f.data);
  }
  html << "</div>";
  if (data["curves"].empty()) html << "<p>No evaluation lines in metrics.jsonl (report_to without jsonl?).</p>";

  // Final numbers: every number the summary has, grouped as it groups them.
  html << "<h2>Final numbers</h2><table id=\"results\" class=\"results\"><thead><tr><th>quantity</th><th>value</th>"
          "</tr></thead><tbody>";
  auto row = [&](const std::string& name, double v) {
    if (std::isfinite(v)) html << "<tr><td>" << html_escape(name) << "</td><td>" << (v == std::round(v) ? count_text(v) : compact(v, 4)) << "</td></tr>";
  };
  for (const char* group : {"final", "judge", "win_rate", "multiple_choice"}) {
    if (!r.summary.contains(group) || !r.summary[group].is_object()) continue;
    for (const auto& [key, value] : r.summary[group].items())
      if (value.is_number()) row(std::string(group) + "." + key, value.get<double>());
  }
  for (const char* key : {"steps", "sft_updates", "dpo_updates", "tokens"}) row(key, number_at(r.summary, {key}));
  html << "</tbody></table>";
  if (r.summary.contains("win_rate") && r.summary["win_rate"].is_object())
    html << "<p>Win rate vs chosen, judge " << html_escape(text_at(r.summary["win_rate"], "judge", "?")) << ": "
         << html_escape(text_at(r.summary["win_rate"], "scoring", "scoring not recorded")) << ".</p>";
  html << figure_data_script(data) << "</body></html>\n";
  return html.str();
}

std::string report_html(const std::string& dir) {
  return detect_report_source(dir) == ReportSource::sweep ? sweep_report_html(dir) : run_report_html(dir);
}

std::string sweep_results_markdown(const std::string& sweep_dir) {
  const SweepData s = read_sweep(sweep_dir);
  return sweep_markdown_preamble(s) + "\n" + results_table_markdown(results_table(s));
}

}  // namespace tandem
