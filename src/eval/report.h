// The HTML report of a sweep: trajectories in the (f_DPO, f_SFT) plane per lambda with the ideal point, and a table
// of final losses, ideal distances, judge scores, time and memory (mean +- std over seeds). Self-contained (inline
// SVG, no scripts), drawn in black and grays with distinct markers, dash patterns and direct labels, so it reads
// in grayscale and in print.
#pragma once
#include <string>

namespace tandem {

// Reads <sweep_dir>/summary.json, runs.jsonl and each run's metrics.jsonl; returns the HTML.
std::string sweep_report_html(const std::string& sweep_dir, const std::string& title);

}  // namespace tandem
