#include "eval/report_text.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "eval/number_format.h"
#include "eval/report_figures.h"
#include "eval/report_table.h"
#include "eval/svg_plot.h"

namespace tandem {

namespace {

std::string testbed_of(const SweepData& s) {
  return s.summary.contains("testbed") && s.summary["testbed"].is_string() ? s.summary["testbed"].get<std::string>()
                                                                            : "";
}

const nlohmann::json& first_with(const SweepData& s, const char* key) {
  static const nlohmann::json none;
  for (const auto& r : s.runs)
    if (r.summary.contains(key) && r.summary[key].is_object()) return r.summary[key];
  return none;
}

std::string measured_on(const SweepData& s) {
  const auto& e = sweep_eval_data(s);
  auto one = [&](const char* key) -> std::string {
    if (!e.is_object() || !e.contains(key) || !e[key].is_string()) return "";
    const std::string kind = e[key];
    if (kind == "held_out") return "held-out eval sets";
    if (kind == "training_subset") return "training subsets (the first eval_max_examples training examples)";
    return kind;
  };
  const std::string sft = one("sft"), pref = one("preference");
  if (sft.empty() && pref.empty())
    return "Losses are measured on each run's evaluation sets (this sweep did not record their source).";
  if (sft == pref) return "Losses are measured on " + sft + ".";
  return "f_SFT is measured on " + (sft.empty() ? std::string("no SFT data") : sft) + ", f_DPO on " +
         (pref.empty() ? std::string("no preference data") : pref) + ".";
}

std::string judge_text(const SweepData& s) {
  std::string text;
  const auto& judge = first_with(s, "judge");
  if (judge.is_object()) {
    const std::string name = text_at(judge, "name", testbed_of(s) == "toy" ? "toy" : "");
    text += "<p>Judges (" + html_escape(name.empty() ? "exact" : name) +
            "): greedy generations on the eval prompts are checked exactly; <b>SFT accuracy</b> is the share of SFT "
            "prompts answered with an accepted answer, <b>preference satisfaction</b> the share of preference prompts "
            "answered as the chosen response.";
    if (judge.contains("win_rate")) text += " <b>Win rate vs rejected</b>: the answer against the dataset's rejected one under the same judge, ties count ½.";
    text += "</p>";
  }
  const auto& win = first_with(s, "win_rate");
  if (win.is_object())
    text += "<p><b>Win rate vs chosen</b>: each generation against the preference data's chosen response, judge " +
            html_escape(text_at(win, "judge", "?")) + " (" + html_escape(text_at(win, "scoring", "scoring not recorded")) +
            "), n = " + count_text(number_at(win, {"n"})) +
            " per run; the table gives mean ± std over seeds and the runs' own 95% intervals.</p>";
  const auto& mc = first_with(s, "multiple_choice");
  if (mc.is_object())
    text += "<p><b>Capability retention</b>: multiple-choice accuracy on " + html_escape(text_at(mc, "dataset", "?")) +
            " (" + count_text(number_at(mc, {"n"})) +
            " questions) by log-likelihood of each choice (acc), and with each log-likelihood divided by the "
            "choice's length in bytes (acc_norm), as lm-evaluation-harness scores them.</p>";
  return text;
}

// MAXRIGHT's own ideal (summary.json "maxright_ideal") and how it was set; "" when no run records one.
std::string maxright_ideal_text(const SweepData& s) {
  const nlohmann::json* first = nullptr;
  bool all_same = true;
  for (const auto& r : s.runs) {
    if (!r.summary.contains("maxright_ideal") || !r.summary["maxright_ideal"].is_object()) continue;
    if (!first) first = &r.summary["maxright_ideal"];
    else all_same = all_same && *first == r.summary["maxright_ideal"];
  }
  if (!first) return "";
  return " MAXRIGHT's ideal point: f_SFT = " + compact(number_at(*first, {"f_sft"})) + ", f_DPO = " +
         compact(number_at(*first, {"f_dpo"})) + " (source: " + html_escape(text_at(*first, "source", "not recorded")) +
         (all_same ? "" : "; the first run's, runs differ") + ").";
}

std::string cost_text(const SweepData& s) {
  if (!s.summary.contains("cost") || !s.summary["cost"].is_object())
    return "<p class=\"cost\">Costs were not measured in a controlled way in this sweep, so the table has no cost "
           "columns (<code>tandem sweep --cost-repeats N</code> measures seconds per step and peak memory).</p>";
  const auto& c = s.summary["cost"];
  return "<p class=\"cost\">Costs: a controlled measurement, " + count_text(number_at(c, {"steps"})) + " steps × " +
         count_text(number_at(c, {"repeats"})) + " repetitions per configuration (" +
         html_escape(text_at(c, "order", "order not recorded")) +
         "); seconds per step and peak memory are medians over seeds and repetitions, and the comparison with "
         "Sequential at the same λ gives a 95% interval; \"within noise\" marks an interval that contains 0.</p>";
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return out;
}

std::string sweep_title(const SweepData& s) {
  const std::string testbed = testbed_of(s);
  if (testbed == "toy") return "Tandem: joint SFT + preference training on the reverse-vs-copy testbed";
  if (testbed == "words") return "Tandem: joint SFT + preference training on the natural-language testbed";
  if (!testbed.empty()) return "Tandem: joint SFT + preference training on the " + testbed + " testbed";
  return "Tandem: joint SFT + preference training on your data";
}

std::string sweep_intro_html(const SweepData& s) {
  std::ostringstream os;
  const std::string testbed = testbed_of(s);
  if (testbed == "toy")
    os << "<p>The reverse-vs-copy testbed: the SFT data answers a prompt with its symbols reversed, the preference "
          "data prefers the copy over the reverse, so a method that only follows the later objective forgets the "
          "earlier one.</p>";
  else if (testbed == "words")
    os << "<p>The natural-language testbed: a small model pretrained on dictionary text, an SFT task and a "
          "preference task on natural-language prompts whose objectives conflict.</p>";
  const double seeds = number_at(s.summary, {"ideal", "seeds"});
  os << "<p>Methods: ";
  for (size_t i = 0; i < s.methods.size(); ++i) os << (i ? ", " : "") << method_style(s.methods[i]).label;
  os << "; λ = ";
  for (size_t i = 0; i < s.lambdas.size(); ++i) os << (i ? ", " : "") << lambda_text(s.lambdas[i]);
  os << ". Ideal point (mean final values of the single-objective SFT and DPO runs"
     << (std::isfinite(seeds) ? " over " + count_text(seeds) + " seeds" : "") << "): f*_SFT = " << compact(s.ideal_sft)
     << ", f*_DPO = " << compact(s.ideal_dpo) << ". " << measured_on(s)
     << " Ideal distance = ‖(f_SFT − f*_SFT, f_DPO − f*_DPO)‖; normalised: each gap divided by its gap at the start "
        "of training."
     << maxright_ideal_text(s);
  const double jobs = number_at(s.summary, {"jobs"});
  if (jobs > 1) os << " Runs ran " << count_text(jobs) << " at a time (<code>--jobs " << count_text(jobs) << "</code>).";
  os << "</p>" << judge_text(s) << cost_text(s);
  return os.str();
}

std::string sweep_findings_html(const SweepData& s) {
  std::ostringstream os;
  const auto distance = [](const RunData& r) { return number_at(r.summary, {"ideal_distance"}); };
  for (double lambda : s.lambdas) {
    const auto seq = runs_of(s, "sequential", lambda);
    if (!seq.empty()) {
      // Forgetting: the lowest f_SFT Sequential reached on the way (its SFT stage) against where it ended.
      const MeanStd lowest = over_runs(seq, [](const RunData& r) {
        double lo = std::numeric_limits<double>::quiet_NaN();
        for (const auto& p : r.evals)
          if (std::isfinite(p.f_sft) && !(lo <= p.f_sft)) lo = p.f_sft;
        return lo;
      });
      const MeanStd final_sft = over_runs(seq, [](const RunData& r) { return number_at(r.summary, {"final", "f_sft"}); });
      if (lowest.n && final_sft.n)
        os << "<li>λ = " << lambda_text(lambda) << ": Sequential's f_SFT reached " << compact(lowest.mean)
           << " at its lowest evaluation and ended at " << compact(final_sft.mean)
           << (final_sft.mean > 2 * lowest.mean ? " (forgetting)" : "") << ".</li>";
    }
    std::string best;
    double best_distance = INFINITY;
    for (const auto& m : s.methods) {
      const MeanStd d = over_runs(runs_of(s, m, lambda), distance);
      if (d.n && d.mean < best_distance) best_distance = d.mean, best = method_style(m).label;
    }
    if (!best.empty())
      os << "<li>λ = " << lambda_text(lambda) << ": closest to the ideal point: " << best << " (mean ideal distance "
         << compact(best_distance) << ").</li>";
    for (const auto& m : s.methods) {
      const nlohmann::json* c = cost_row(s, m, lambda);
      if (!c || m == "sequential" || !c->contains("time_vs_sequential")) continue;
      const auto& t = (*c)["time_vs_sequential"];
      os << "<li>λ = " << lambda_text(lambda) << ": " << method_style(m).label << "'s time per step vs Sequential: "
         << relative_cost_text(t)
         << (flag_at(t, "within_noise") ? " (no measurable difference)" : "") << ".</li>";
    }
  }
  return os.str();
}

std::string sweep_markdown_preamble(const SweepData& s) {
  std::ostringstream os;
  os << "Ideal point f*_SFT = " << compact(s.ideal_sft) << ", f*_DPO = " << compact(s.ideal_dpo)
     << "; mean ± std over seeds. " << measured_on(s) << "\n";
  if (!s.summary.contains("cost") || !s.summary["cost"].is_object())
    os << "Costs were not measured in a controlled way in this run (no cost columns).\n";
  return os.str();
}

}  // namespace tandem
