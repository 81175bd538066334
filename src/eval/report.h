// The HTML report of a sweep or of a single training run, and the Markdown results table of a sweep.
// Self-contained (inline SVG and CSS; the only script element is the figures' data as JSON, id "figure-data"),
// drawn in black and grays with distinct markers, dash patterns and direct labels, so it reads in grayscale and
// in print. A sweep's page: the paper's key figure (final (f_DPO, f_SFT) of every method across lambda with the
// ideal point), loss-vs-step curves per objective and lambda, the results table (report_table.h) and findings
// computed from the runs; wording follows what the sweep had (report_text.h).
#pragma once
#include <string>

namespace tandem {

// <dir> is a sweep folder (summary.json + runs.jsonl) or a `tandem train` folder (summary.json with "final");
// anything else is an error saying what was expected.
std::string report_html(const std::string& dir);
std::string sweep_report_html(const std::string& sweep_dir);
std::string run_report_html(const std::string& run_dir);

// The sweep's results table as Markdown, with one line above it (ideal point, what the losses were measured on).
std::string sweep_results_markdown(const std::string& sweep_dir);

}  // namespace tandem
