// Where a run's metric lines go besides metrics.jsonl (report_to): metrics.csv and TensorBoard event files.
// Each line is the same JSON object the Trainer writes to metrics.jsonl.
//   csv          <output_dir>/metrics.csv, one row per line. The header is the first line's keys; a key first seen
//                later is appended as a new last column and the file is rewritten with empty cells for the rows
//                before, so columns never move and no value is dropped.
//   tensorboard  <output_dir>/runs/events.out.tfevents.*: every finite number of a line as a scalar at its step,
//                tagged "train/<key>" or, for evaluation lines, "eval/<key>" (transformers' TensorBoardCallback
//                naming); strings, booleans, nulls and the step itself are not scalars.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/tensorboard_writer.h"

namespace tandem {

class CsvMetrics {
 public:
  // A fresh run empties `path`; a run resumed at `resume_step` (> 0) keeps the rows up to that step.
  CsvMetrics(const std::string& path, int64_t resume_step);
  void write(const nlohmann::json& line);

 private:
  std::string path_;
  std::vector<std::string> columns_;
};

// Splits one CSV row (RFC 4180 quoting) into its cells; shared with the tests.
std::vector<std::string> split_csv_row(const std::string& row);

class MetricsSinks {
 public:
  // `targets` from TrainConfig::report_targets(); "jsonl" is the Trainer's own and ignored here.
  MetricsSinks(const std::vector<std::string>& targets, const std::string& output_dir, int64_t resume_step);
  void write(const nlohmann::json& line);

 private:
  std::unique_ptr<CsvMetrics> csv_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

}  // namespace tandem
