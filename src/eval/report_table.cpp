#include "eval/report_table.h"

#include <cmath>
#include <sstream>

#include "eval/number_format.h"
#include "eval/report_text.h"
#include "eval/svg_plot.h"

namespace tandem {

namespace {

bool any_run_has(const SweepData& s, const char* key, const char* sub = nullptr) {
  for (const auto& r : s.runs)
    if (r.summary.contains(key) && r.summary[key].is_object() && (!sub || r.summary[key].contains(sub))) return true;
  return false;
}

// One bound of a run's win_rate.ci95, NaN when the run has none.
double win_rate_ci_bound(const nlohmann::json& summary, size_t i) {
  if (!summary.contains("win_rate") || !summary["win_rate"].is_object()) return std::nan("");
  const auto& ci = summary["win_rate"].contains("ci95") ? summary["win_rate"]["ci95"] : nlohmann::json();
  return ci.is_array() && ci.size() == 2 && ci[i].is_number() ? ci[i].get<double>() : std::nan("");
}

// j[key], or null when j is not an object with that key (a cost block without this method or lambda).
const nlohmann::json& field(const nlohmann::json& j, const char* key) {
  static const nlohmann::json none;
  return j.is_object() && j.contains(key) ? j[key] : none;
}

}  // namespace

const nlohmann::json* cost_row(const SweepData& s, const std::string& method, double lambda) {
  // By reference all the way: the returned pointer points into the sweep's summary.
  if (!s.summary.contains("cost") || !s.summary["cost"].is_object()) return nullptr;
  const nlohmann::json& cost = s.summary["cost"];
  if (!cost.contains("rows") || !cost["rows"].is_array()) return nullptr;
  for (const auto& row : cost["rows"])
    if (text_at(row, "method", "") == method && std::abs(number_at(row, {"lambda"}) - lambda) < 1e-12) return &row;
  return nullptr;
}

std::string relative_cost_text(const nlohmann::json& versus) {
  const double pct = number_at(versus, {"pct"});
  if (!std::isfinite(pct)) return "–";
  std::string text = signed_pct(pct);
  if (versus.contains("ci95") && versus["ci95"].is_array() && versus["ci95"].size() == 2 &&
      versus["ci95"][0].is_number() && versus["ci95"][1].is_number())
    text.append(" [").append(signed_pct(versus["ci95"][0].get<double>())).append(", ")
        .append(signed_pct(versus["ci95"][1].get<double>())).append("]");
  if (flag_at(versus, "within_noise")) text += " within noise";
  return text;
}

ResultsTable results_table(const SweepData& s) {
  ResultsTable t;
  t.has_judge = any_run_has(s, "judge");
  const bool judge_win_vs_rejected = any_run_has(s, "judge", "win_rate");
  t.has_win_rate = any_run_has(s, "win_rate");
  t.has_multiple_choice = any_run_has(s, "multiple_choice");
  t.has_cost = s.summary.contains("cost") && s.summary["cost"].is_object();
  t.header = {"method", "λ", "seeds", "f_SFT", "f_DPO", "ideal distance", "normalised"};
  if (t.has_judge) t.header.insert(t.header.end(), {"SFT accuracy", "pref. satisfaction"});
  if (judge_win_vs_rejected) t.header.push_back("win rate vs rejected");
  if (t.has_win_rate) t.header.insert(t.header.end(), {"win rate vs chosen", "win-rate 95% CI"});
  if (t.has_multiple_choice) t.header.insert(t.header.end(), {"MC acc", "MC acc_norm"});
  if (t.has_cost)
    t.header.insert(t.header.end(), {"s / step (median)", "time vs Sequential", "peak MiB (median)",
                                     "memory vs Sequential"});
  for (double lambda : s.lambdas)
    for (const auto& method : s.methods) {
      const auto runs = runs_of(s, method, lambda);
      if (runs.empty()) continue;
      auto cell = [&](std::initializer_list<const char*> path) {
        return mean_pm_std(over_runs(runs, [&](const RunData& r) { return number_at(r.summary, path); }));
      };
      std::vector<std::string> row = {method_style(method).label, lambda_text(lambda), std::to_string(runs.size()),
                                      cell({"final", "f_sft"}), cell({"final", "f_dpo"}), cell({"ideal_distance"}),
                                      cell({"normalised_ideal_distance"})};
      if (t.has_judge)
        row.insert(row.end(), {cell({"judge", "sft_accuracy"}), cell({"judge", "preference_satisfaction"})});
      if (judge_win_vs_rejected) row.push_back(cell({"judge", "win_rate"}));
      if (t.has_win_rate) {
        row.push_back(cell({"win_rate", "rate"}));
        // The runs' own intervals: one seed's as it is, several seeds' averaged bound by bound.
        const MeanStd lo = over_runs(runs, [](const RunData& r) { return win_rate_ci_bound(r.summary, 0); });
        const MeanStd hi = over_runs(runs, [](const RunData& r) { return win_rate_ci_bound(r.summary, 1); });
        // Built with append: GCC 12's -Wrestrict misfires on chains of "literal" + std::string temporaries.
        std::string ci = "–";
        if (lo.n) ci.assign("[").append(compact(lo.mean, 2)).append(", ").append(compact(hi.mean, 2)).append("]");
        if (lo.n > 1) ci.append(" (mean)");
        row.push_back(ci);
      }
      if (t.has_multiple_choice)
        row.insert(row.end(), {cell({"multiple_choice", "acc"}), cell({"multiple_choice", "acc_norm"})});
      if (t.has_cost) {
        const nlohmann::json* c = cost_row(s, method, lambda);
        const nlohmann::json none;
        const auto& cr = c ? *c : none;
        const bool reference = method == "sequential";
        row.insert(row.end(), {compact(number_at(cr, {"seconds_per_step", "median"})),
                               reference ? "reference" : relative_cost_text(field(cr, "time_vs_sequential")),
                               compact(number_at(cr, {"peak_memory_mib", "median"})),
                               reference ? "reference" : relative_cost_text(field(cr, "memory_vs_sequential"))});
      }
      t.rows.push_back(std::move(row));
    }
  return t;
}

std::string results_table_html(const ResultsTable& t, const std::string& id) {
  std::ostringstream os;
  os << "<table id=\"" << id << "\" class=\"results\"><thead><tr>";
  for (const auto& h : t.header) os << "<th>" << html_escape(h) << "</th>";
  os << "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    os << "<tr>";
    for (const auto& c : row) os << "<td>" << html_escape(c) << "</td>";
    os << "</tr>";
  }
  os << "</tbody></table>";
  return os.str();
}

std::string results_table_markdown(const ResultsTable& t) {
  std::ostringstream os;
  auto line = [&](const std::vector<std::string>& cells) {
    os << "|";
    for (const auto& c : cells) os << " " << c << " |";
    os << "\n";
  };
  line(t.header);
  os << "|";
  for (size_t i = 0; i < t.header.size(); ++i) os << (i < 3 ? "---|" : "---:|");
  os << "\n";
  for (const auto& row : t.rows) line(row);
  return os.str();
}

}  // namespace tandem
