// The report's words, chosen from what the sweep had: the title and introduction from "testbed" (the
// reverse-vs-copy testbed, the natural-language testbed, or a user's own data with no testbed wording), what the
// losses were measured on from "eval_data", judges and the multiple-choice task only when runs carry them, costs
// only from the controlled "cost" block, and findings computed from the runs. Returned as HTML fragments.
#pragma once
#include <string>

#include "eval/report_data.h"

namespace tandem {

std::string sweep_title(const SweepData& sweep);
std::string sweep_intro_html(const SweepData& sweep);
std::string sweep_findings_html(const SweepData& sweep);
// The Markdown lines above the README's results table (ideal point, what was measured).
std::string sweep_markdown_preamble(const SweepData& sweep);

std::string html_escape(const std::string& text);

}  // namespace tandem
