// The results table of a sweep, one row per method and lambda (mean ± std over seeds), as a model rendered to HTML
// or Markdown. Columns follow what the sweep had: judge columns only when runs carry "judge" / "win_rate",
// multiple-choice accuracy only with "multiple_choice", cost columns only from the sweep's controlled "cost"
// block (medians over seeds and repetitions, relative to Sequential with a 95% interval, "within noise" when the
// interval says so). Per-run demo timings are never shown as costs.
#pragma once
#include <string>
#include <vector>

#include "eval/report_data.h"

namespace tandem {

struct ResultsTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // plain text cells
  bool has_judge = false, has_win_rate = false, has_multiple_choice = false, has_cost = false;
};

ResultsTable results_table(const SweepData& sweep);
std::string results_table_html(const ResultsTable& table, const std::string& id);
std::string results_table_markdown(const ResultsTable& table);

// The cost block's row for (method, lambda), or null when the sweep has none.
const nlohmann::json* cost_row(const SweepData& sweep, const std::string& method, double lambda);
// "+12% [+3%, +21%]", with " (within noise)" when within_noise; "–" when absent.
std::string relative_cost_text(const nlohmann::json& versus);

}  // namespace tandem
