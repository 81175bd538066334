#include "train/metrics_sinks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/checked_write.h"

namespace tandem {

namespace {

std::string csv_cell(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (!v.is_string()) return v.dump();  // numbers as JSON prints them (shortest round-trip), true/false
  const std::string s = v.get<std::string>();
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_row(const std::vector<std::string>& cells) {
  std::string row;
  for (size_t i = 0; i < cells.size(); ++i) row += (i ? "," : "") + cells[i];
  return row + "\n";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

}  // namespace

std::vector<std::string> split_csv_row(const std::string& row) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < row.size(); ++i) {
    const char c = row[i];
    if (quoted && c == '"' && i + 1 < row.size() && row[i + 1] == '"') {
      cells.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

CsvMetrics::CsvMetrics(const std::string& path, int64_t resume_step) : path_(path) {
  if (resume_step <= 0 || !std::filesystem::exists(path_)) {
    truncate_file(path_);
    return;
  }
  // Resumed: the rows up to the checkpoint's step stay, as in metrics.jsonl.
  const std::vector<std::string> lines = lines_of(read_file(path_));
  if (lines.empty()) return;
  columns_ = split_csv_row(lines[0]);
  const auto step_col = std::find(columns_.begin(), columns_.end(), "step") - columns_.begin();
  std::string kept = lines[0] + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> cells = split_csv_row(lines[i]);
    if (size_t(step_col) < cells.size() && std::stoll(cells[size_t(step_col)]) <= resume_step) kept += lines[i] + "\n";
  }
  write_file_atomic(path_, kept);
}

void CsvMetrics::write(const nlohmann::json& line) {
  const size_t old_width = columns_.size();
  for (const auto& [key, value] : line.items())
    if (std::find(columns_.begin(), columns_.end(), key) == columns_.end()) columns_.push_back(key);
  std::vector<std::string> cells;
  for (const std::string& c : columns_) cells.push_back(line.contains(c) ? csv_cell(line[c]) : "");
  if (columns_.size() == old_width) {
    append_to_file(path_, csv_row(cells));
    return;
  }
  // New columns: rewrite the file with the longer header and the earlier rows padded with empty cells.
  std::string text = csv_row(columns_);
  const std::vector<std::string> lines = lines_of(old_width == 0 ? std::string() : read_file(path_));
  const std::string padding(columns_.size() - old_width, ',');
  for (size_t i = 1; i < lines.size(); ++i) text += lines[i] + padding + "\n";
  write_file_atomic(path_, text + csv_row(cells));
}

MetricsSinks::MetricsSinks(const std::vector<std::string>& targets, const std::string& output_dir,
                           int64_t resume_step) {
  for (const std::string& t : targets) {
    if (t == "csv") csv_ = std::make_unique<CsvMetrics>(output_dir + "/metrics.csv", resume_step);
    if (t == "tensorboard") tensorboard_ = std::make_unique<TensorBoardWriter>(output_dir + "/runs");
  }
}

void MetricsSinks::write(const nlohmann::json& line) {
  if (csv_) csv_->write(line);
  if (!tensorboard_) return;
  const std::string prefix = line.value("eval", false) ? "eval/" : "train/";
  std::vector<std::pair<std::string, float>> scalars;
  for (const auto& [key, value] : line.items())
    if (key != "step" && value.is_number() && std::isfinite(value.get<double>()))
      scalars.emplace_back(prefix + key, float(value.get<double>()));
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  tensorboard_->add_scalars(line.value("step", int64_t(0)), now, scalars);
}

}  // namespace tandem
