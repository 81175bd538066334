// The report through the real CLI, loaded in headless Chromium: (a) a toy-testbed sweep with judges, (b) a user's
// own pre-tokenised data without eval sets or judges, (c) a single `tandem train` run. Each page must load, have
// its figures and table, word itself after what the run had, and embed figure data ("figure-data" JSON) equal to
// the runs' own files: means and sample stds recomputed here from each run's summary.json and metrics.jsonl
// (relative tolerance 1e-9: the same doubles summed in a possibly different order). Fixture sweep folders (JSON
// written here, plausible made-up numbers) cover the fields today's sweep does not write yet: eval_data, testbed,
// cost, win_rate, multiple_choice; and the README block command runs on a fixture README.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "eval/svg_plot.h"
#include "io/atomic_file.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// CLI runs are single-threaded: on a shared 2-core machine OpenMP threads spinning against each other make a
// 10-step toy run take ~20x longer, and results do not depend on the thread count here.
int run(const std::string& cmd) {
  std::string line = "OMP_NUM_THREADS=1 ";
  line.append(cmd).append(" > /dev/null 2>&1");
  return std::system(line.c_str());
}

std::string tandem_cmd() { return TANDEM_BINARY; }

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(json::parse(line));
  return lines;
}

void write_jsonl(const std::string& path, const std::vector<json>& lines) {
  std::string text;
  for (const auto& j : lines) text += j.dump() + "\n";
  write_file_atomic(path, text);
}

// Independent of eval/metrics.cpp: mean and sample (n - 1) standard deviation, 0 for one value.
std::pair<double, double> mean_and_std(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? std::sqrt(ss / double(v.size() - 1)) : 0.0};
}

void expect_close(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::abs(want))) << what;
}

struct Page {
  std::string dom;
  json data;  // the page's figure-data
};

// Loads `html` in headless Chromium and returns the DOM it built and the figure data read back from that DOM.
Page load_in_chromium(const std::string& html, const std::string& work, bool screenshot) {
  const std::string chromium =
      "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
      "--disable-component-update --disable-sync --user-data-dir=" + work + "/profile ";
  Page page;
  const std::string dump = chromium + "--dump-dom file://" + html + " > " + work + "/dom.html 2>/dev/null";
  if (std::system(dump.c_str()) != 0) {
    ADD_FAILURE() << "headless chromium failed (apt-get install chromium)";
    return page;
  }
  page.dom = read_file(work + "/dom.html");
  const std::string open = "<script type=\"application/json\" id=\"figure-data\">";
  const size_t at = page.dom.find(open), end = page.dom.find("</script>", at);
  if (at == std::string::npos || end == std::string::npos) {
    ADD_FAILURE() << "no figure-data script in the page";
    return page;
  }
  page.data = json::parse(page.dom.substr(at + open.size(), end - at - open.size()));
  if (screenshot) {
    EXPECT_EQ(run(chromium + "--window-size=1200,1600 --screenshot=" + work + "/report.png file://" + html), 0);
    EXPECT_GT(fs::file_size(work + "/report.png"), 20000u);  // it renders to pixels, not a blank page
  }
  return page;
}

// A run's eval lines by step.
std::map<int64_t, json> evals_by_step(const std::string& run_dir) {
  std::map<int64_t, json> by_step;
  for (const auto& j : read_jsonl(run_dir + "/metrics.jsonl"))
    if (j.contains("eval")) by_step[j["step"].get<int64_t>()] = j;
  return by_step;
}

// The sweep figures' data against the runs: the key figure's points against each run's summary.json, the curves
// against each run's metrics.jsonl, the ideal against the sweep's summary.json.
void expect_sweep_figures_match_runs(const json& data, const std::string& sweep_dir) {
  std::map<std::pair<std::string, double>, std::vector<std::string>> dirs;  // (method, lambda) -> run folders
  for (const auto& line : read_jsonl(sweep_dir + "/runs.jsonl"))
    dirs[{line["method"], line["lambda"].get<double>()}].push_back(line["dir"]);
  const json sweep_summary = json::parse(read_file(sweep_dir + "/summary.json"));
  expect_close(data["pareto"]["ideal"]["f_sft"], sweep_summary["ideal"]["f_sft"], "ideal f_sft");
  expect_close(data["pareto"]["ideal"]["f_dpo"], sweep_summary["ideal"]["f_dpo"], "ideal f_dpo");

  size_t points = 0;
  for (const auto& series : data["pareto"]["series"])
    for (const auto& p : series["points"]) {
      ++points;
      const auto& run_dirs = dirs[{series["method"], p["lambda"].get<double>()}];
      ASSERT_FALSE(run_dirs.empty()) << series["method"] << " " << p["lambda"];
      EXPECT_EQ(p["seeds"].get<size_t>(), run_dirs.size());
      for (const char* loss : {"f_sft", "f_dpo"}) {
        std::vector<double> finals;
        for (const auto& d : run_dirs) finals.push_back(json::parse(read_file(d + "/summary.json"))["final"][loss]);
        const auto [mean, std] = mean_and_std(finals);
        expect_close(p[loss]["mean"], mean, std::string(loss) + " mean of " + series["method"].get<std::string>());
        expect_close(p[loss]["std"], std, std::string(loss) + " std of " + series["method"].get<std::string>());
      }
    }
  EXPECT_EQ(points, dirs.size());  // every method at every lambda, once

  ASSERT_FALSE(data["curves"].empty());
  for (const auto& curve : data["curves"])
    for (const auto& series : curve["series"]) {
      const auto& run_dirs = dirs[{series["method"], curve["lambda"].get<double>()}];
      std::vector<std::map<int64_t, json>> evals;
      for (const auto& d : run_dirs) evals.push_back(evals_by_step(d));
      EXPECT_EQ(series["steps"].size(), evals.front().size()) << "every evaluation step is plotted";
      for (size_t i = 0; i < series["steps"].size(); ++i) {
        std::vector<double> values;
        for (const auto& e : evals) values.push_back(e.at(series["steps"][i].get<int64_t>())[curve["objective"]]);
        const auto [mean, std] = mean_and_std(values);
        expect_close(series["mean"][i], mean, "curve mean");
        expect_close(series["std"][i], std, "curve std");
      }
    }
}

// `tandem sweep --testbed NAME` records the testbed once the sweep part has it; until then the test writes the
// same field into summary.json itself, so the toy wording is still tested.
std::string testbed_flag_if_supported() {
  const std::string help = "/tmp/tandem_report_sweep_help.txt";
  std::system((tandem_cmd() + " sweep --help > " + help + " 2>&1").c_str());
  return contains(read_file(help), "--testbed") ? " --testbed toy" : "";
}

TEST(Report, ToyTestbedSweepThroughTheCliLoadsInChromiumWithFiguresEqualToTheRuns) {
  const std::string dir = (fs::temp_directory_path() / "tandem_report_toy").string();
  fs::remove_all(dir);
  const std::string tandem = tandem_cmd();
  ASSERT_EQ(run(tandem + " toy-task " + dir + "/task --examples 48"), 0);
  ASSERT_EQ(run(tandem + " sweep " + dir + "/task/train.toml --methods sequential,alright --lambdas 0.25,0.75 --seeds 0,1 " +
                "--out " + dir + "/sweep" + testbed_flag_if_supported() + " max_steps=10 eval_steps=5 judge=toy"),
            0);
  json summary = json::parse(read_file(dir + "/sweep/summary.json"));
  if (!summary.contains("testbed")) {
    summary["testbed"] = "toy";
    write_file_atomic(dir + "/sweep/summary.json", summary.dump(2));
  }
  ASSERT_EQ(run(tandem + " report " + dir + "/sweep --out " + dir + "/report.html"), 0);
  const Page page = load_in_chromium(dir + "/report.html", dir, /*screenshot=*/true);

  EXPECT_EQ(count(page.dom, "<svg class=\"plot\" id=\"pareto\""), 1u);
  EXPECT_EQ(count(page.dom, "<svg class=\"plot\" id=\"curve-"), 4u);  // f_SFT and f_DPO at 2 lambdas
  EXPECT_EQ(count(page.dom, "<table id=\"results\""), 1u);
  EXPECT_EQ(count(page.dom, "<tr>"), 1u + 4u);  // header + 2 methods x 2 lambdas
  EXPECT_TRUE(contains(page.dom, "reverse-vs-copy testbed"));
  EXPECT_TRUE(contains(page.dom, ">ideal<"));
  EXPECT_TRUE(contains(page.dom, "λ=0.25"));  // the key figure's points carry their lambda
  EXPECT_TRUE(contains(page.dom, "<th>SFT accuracy</th>"));
  EXPECT_TRUE(contains(page.dom, "Judges"));
  EXPECT_FALSE(contains(page.dom, "time vs Sequential"));  // no cost block, no cost columns
  EXPECT_TRUE(contains(page.dom, "not measured in a controlled way"));
  EXPECT_TRUE(contains(page.dom, "white-space:nowrap"));
  if (!summary.contains("eval_data")) {
    EXPECT_FALSE(contains(page.dom, "held-out"));
  } else {  // the toy task has held-out eval sets
    EXPECT_TRUE(contains(page.dom, "held-out eval set"));
  }
  EXPECT_TRUE(contains(page.dom, "Sequential's f_SFT reached"));
  expect_sweep_figures_match_runs(page.data, dir + "/sweep");
}

// Pre-tokenised data of its own: SFT answers "a b" with "a+1 b+1", preferences want "b a" over "a b".
void write_user_data(const std::string& dir) {
  fs::create_directories(dir);
  std::vector<json> sft, pref;
  for (int i = 0; i < 24; ++i) {
    const int a = 4 + i % 17, b = 5 + (i * 7) % 19;
    sft.push_back({{"prompt_ids", {1, a, b, 2}}, {"completion_ids", {a + 1, b + 1, 3}}});
    pref.push_back({{"prompt_ids", {1, b, a, 2}}, {"chosen_ids", {a, b, 3}}, {"rejected_ids", {b, a, 3}}});
  }
  write_jsonl(dir + "/sft.jsonl", sft);
  write_jsonl(dir + "/preference.jsonl", pref);
  write_file_atomic(dir + "/config.json", json{{"architectures", {"LlamaForCausalLM"}},
                                               {"model_type", "llama"},
                                               {"hidden_size", 32},
                                               {"intermediate_size", 64},
                                               {"num_attention_heads", 2},
                                               {"num_key_value_heads", 2},
                                               {"num_hidden_layers", 1},
                                               {"max_position_embeddings", 16},
                                               {"vocab_size", 32}}
                                                  .dump());
  write_file_atomic(dir + "/train.toml", "model_config = \"" + dir + "/config.json\"\nsft_dataset = \"" + dir +
                                             "/sft.jsonl\"\npreference_dataset = \"" + dir +
                                             "/preference.jsonl\"\nreference_cache_dir = \"" + dir +
                                             "/cache\"\nper_device_train_batch_size = 8\nlearning_rate = 3e-3\n"
                                             "eval_max_examples = 16\n");
}

TEST(Report, UserDataSweepWithoutJudgesHasNoTestbedWordingNoJudgeColumnsAndFiguresEqualToTheRuns) {
  const std::string dir = (fs::temp_directory_path() / "tandem_report_user").string();
  fs::remove_all(dir);
  write_user_data(dir + "/data");
  const std::string tandem = tandem_cmd();
  ASSERT_EQ(run(tandem + " sweep " + dir + "/data/train.toml --methods mix,maxright --lambdas 0.5 --seeds 0 --out " + dir +
                "/sweep max_steps=8 eval_steps=4"),
            0);
  ASSERT_EQ(run(tandem + " report " + dir + "/sweep"), 0);  // default: SWEEP_DIR/report.html
  const Page page = load_in_chromium(dir + "/sweep/report.html", dir, /*screenshot=*/false);

  EXPECT_EQ(count(page.dom, "<svg class=\"plot\" id=\"pareto\""), 1u);
  EXPECT_EQ(count(page.dom, "<svg class=\"plot\" id=\"curve-"), 2u);
  EXPECT_EQ(count(page.dom, "<tr>"), 1u + 2u);
  EXPECT_TRUE(contains(page.dom, "on your data"));
  EXPECT_FALSE(contains(page.dom, "reverse-vs-copy"));
  EXPECT_FALSE(contains(page.dom, "testbed"));
  EXPECT_FALSE(contains(page.dom, "held-out"));
  EXPECT_FALSE(contains(page.dom, "SFT accuracy"));
  EXPECT_FALSE(contains(page.dom, "win rate"));
  EXPECT_FALSE(contains(page.dom, "Judges"));
  EXPECT_FALSE(contains(page.dom, "MC acc"));
  const json summary = json::parse(read_file(dir + "/sweep/summary.json"));
  if (summary.contains("eval_data")) {
    EXPECT_TRUE(contains(page.dom, "training subset"));
  }
  expect_sweep_figures_match_runs(page.data, dir + "/sweep");
}

TEST(Report, SingleRunReportHasItsCurvesAndFinalNumbersAndOtherFoldersAreRefused) {
  const std::string dir = (fs::temp_directory_path() / "tandem_report_run").string();
  fs::remove_all(dir);
  const std::string tandem = tandem_cmd();
  ASSERT_EQ(run(tandem + " toy-task " + dir + "/task --examples 32"), 0);
  ASSERT_EQ(run(tandem + " train " + dir + "/task/train.toml output_dir=\\\"" + dir +
                "/run\\\" max_steps=8 eval_steps=4 judge=\\\"toy\\\" progress=false"),
            0);
  ASSERT_EQ(run(tandem + " report " + dir + "/run --out " + dir + "/report.html"), 0);
  const Page page = load_in_chromium(dir + "/report.html", dir, /*screenshot=*/false);

  EXPECT_EQ(count(page.dom, "<svg class=\"plot\" id=\"curve-f_sft\""), 1u);
  EXPECT_EQ(count(page.dom, "<svg class=\"plot\" id=\"curve-f_dpo\""), 1u);
  EXPECT_EQ(count(page.dom, "<table id=\"results\""), 1u);
  EXPECT_TRUE(contains(page.dom, "final.f_sft"));
  EXPECT_TRUE(contains(page.dom, "judge.sft_accuracy"));
  const json summary = json::parse(read_file(dir + "/run/summary.json"));
  EXPECT_EQ(page.data["final"], summary["final"]);
  const auto evals = evals_by_step(dir + "/run");
  ASSERT_EQ(page.data["curves"].size(), 2u);
  for (const auto& curve : page.data["curves"]) {
    ASSERT_EQ(curve["steps"].size(), evals.size());
    for (size_t i = 0; i < curve["steps"].size(); ++i)
      expect_close(curve["values"][i], evals.at(curve["steps"][i].get<int64_t>())[curve["objective"]], "curve value");
  }

  // A folder that is neither a sweep nor a run is an error that says what was expected.
  fs::create_directories(dir + "/empty");
  const auto r = testing::run_tandem(dir, "report " + dir + "/empty");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.err, "neither a sweep folder")) << r.err;
  // --markdown takes a sweep.
  const auto m = testing::run_tandem(dir, "report " + dir + "/run --markdown " + dir + "/t.md");
  EXPECT_NE(m.status, 0);
  EXPECT_TRUE(contains(m.err, "single run")) << m.err;
}

// A fixture sweep with everything the shared formats define: 2 methods x 1 lambda x 2 seeds.
void write_fixture_sweep(const std::string& dir, bool with_everything) {
  std::vector<json> lines;
  for (const std::string method : {"sequential", "maxright"})
    for (int seed = 0; seed < 2; ++seed) {
      const std::string run_dir = dir + "/" + method + "-lambda0.5-seed" + std::to_string(seed);
      fs::create_directories(run_dir);
      const double shift = method == "sequential" ? 2.0 : 0.0;
      json s = {{"final", {{"f_sft", 0.5 + shift + 0.1 * seed}, {"f_dpo", 0.40 - 0.02 * seed}}},
                {"steps", 20}, {"strategy", method}, {"lambda", 0.5}, {"seed", seed},
                {"seconds_per_step", 0.004}, {"peak_memory_mib", 30.0}, {"judge", nullptr}};
      if (with_everything) {
        s["judge"] = {{"name", "answers"}, {"sft_accuracy", 0.75 + 0.05 * seed}, {"preference_satisfaction", 0.5}};
        s["win_rate"] = {{"judge", "answers"}, {"scoring", "exact match against the accepted answers"},
                         {"against", "chosen"}, {"n", 40}, {"wins", 24}, {"ties", 4}, {"losses", 12},
                         {"rate", 0.65 + 0.05 * seed}, {"stderr", 0.07}, {"ci95", {0.50 + 0.06 * seed, 0.80 + 0.04 * seed}}};
        if (method == "maxright") s["maxright_ideal"] = {{"f_sft", 0.4}, {"f_dpo", 0.3}, {"source", "given"}};
        s["multiple_choice"] = {{"dataset", "mmlu_tiny.jsonl"}, {"n", 50}, {"acc", 0.30 + 0.02 * seed},
                                {"acc_stderr", 0.06}, {"acc_norm", 0.32}, {"acc_norm_stderr", 0.06}};
      }
      write_file_atomic(run_dir + "/summary.json", s.dump());
      write_jsonl(run_dir + "/metrics.jsonl",
                  {{{"eval", true}, {"step", 0}, {"f_sft", 3.0}, {"f_dpo", 0.69}},
                   {{"step", 1}, {"loss", 1.0}},
                   {{"eval", true}, {"step", 20}, {"f_sft", s["final"]["f_sft"]}, {"f_dpo", s["final"]["f_dpo"]}}});
      json line = s;
      line["method"] = method;
      line["dir"] = run_dir;
      line["ideal_distance"] = std::hypot(s["final"]["f_sft"].get<double>() - 0.4, s["final"]["f_dpo"].get<double>() - 0.3);
      line["normalised_ideal_distance"] = 0.5;
      lines.push_back(line);
    }
  write_jsonl(dir + "/runs.jsonl", lines);
  json summary = {{"ideal", {{"f_sft", 0.4}, {"f_dpo", 0.3}, {"source", "single-objective runs"}, {"seeds", 2}}},
                  {"rows", json::array()}};
  if (with_everything) {
    summary["testbed"] = "words";
    summary["eval_data"] = {{"sft", "held_out"}, {"preference", "held_out"}};
    summary["jobs"] = 2;
    auto spread = [](double m) { return json{{"median", m}, {"min", m * 0.9}, {"max", m * 1.1}, {"samples", {m}}}; };
    summary["cost"] = {
        {"steps", 30}, {"repeats", 3}, {"order", "interleaved rounds, one process at a time"},
        {"rows",
         {{{"method", "sequential"}, {"lambda", 0.5}, {"seconds_per_step", spread(0.0105)},
           {"peak_memory_mib", spread(41.0)},
           {"time_vs_sequential", {{"pct", 0.0}, {"ci95", {0.0, 0.0}}, {"within_noise", true}}},
           {"memory_vs_sequential", {{"pct", 0.0}, {"ci95", {0.0, 0.0}}, {"within_noise", true}}}},
          {{"method", "maxright"}, {"lambda", 0.5}, {"seconds_per_step", spread(0.0118)},
           {"peak_memory_mib", spread(41.2)},
           {"time_vs_sequential", {{"pct", 12.3}, {"ci95", {4.9, 19.2}}, {"within_noise", false}}},
           {"memory_vs_sequential", {{"pct", 0.4}, {"ci95", {-1.6, 2.2}}, {"within_noise", true}}}}}}};
  }
  write_file_atomic(dir + "/summary.json", summary.dump(2));
}

TEST(Report, FixtureSweepShowsCostWinRateAndMultipleChoiceColumnsOnlyWhenPresent) {
  const std::string dir = (fs::temp_directory_path() / "tandem_report_fixture").string();
  fs::remove_all(dir);
  write_fixture_sweep(dir + "/full", true);
  write_fixture_sweep(dir + "/plain", false);
  const std::string tandem = tandem_cmd();
  ASSERT_EQ(run(tandem + " report " + dir + "/full --markdown " + dir + "/full.md"), 0);
  ASSERT_EQ(run(tandem + " report " + dir + "/plain --markdown " + dir + "/plain.md"), 0);
  const std::string full = read_file(dir + "/full/report.html"), plain = read_file(dir + "/plain/report.html");
  const std::string full_md = read_file(dir + "/full.md"), plain_md = read_file(dir + "/plain.md");

  for (const std::string& text : {full, full_md}) {
    for (const char* column : {"SFT accuracy", "win rate vs chosen", "win-rate 95% CI", "MC acc", "MC acc_norm",
                               "s / step (median)", "time vs Sequential", "peak MiB (median)", "memory vs Sequential"})
      EXPECT_TRUE(contains(text, column)) << column;
    EXPECT_TRUE(contains(text, "+12% [+5%, +19%]"));               // time: 12.3% with its interval
    EXPECT_TRUE(contains(text, "0% [−2%, +2%] within noise"));      // memory: 0.4%, an interval around 0
    EXPECT_TRUE(contains(text, "0.0118"));                          // MAXRIGHT's median s/step
    EXPECT_TRUE(contains(text, "0.675 ± 0.035"));                   // win rate 0.65, 0.70 over two seeds
    EXPECT_TRUE(contains(text, "[0.53, 0.82] (mean)"));             // the runs' ci95 bounds, averaged
    EXPECT_TRUE(contains(text, "0.310 ± 0.014"));                   // MC acc 0.30, 0.32
    EXPECT_FALSE(contains(text, "win rate vs rejected"));           // this judge has no such score
  }
  EXPECT_TRUE(contains(full, "natural-language testbed"));
  EXPECT_TRUE(contains(full, "held-out eval sets"));
  EXPECT_TRUE(contains(full, "exact match against the accepted answers"));  // the win rate's scoring line
  EXPECT_TRUE(contains(full, "mmlu_tiny.jsonl"));
  EXPECT_TRUE(contains(full, "interleaved rounds"));
  EXPECT_TRUE(contains(full, "MAXRIGHT's ideal point: f_SFT = 0.400, f_DPO = 0.300 (source: given)"));
  EXPECT_TRUE(contains(full, "Runs ran 2 at a time"));
  EXPECT_TRUE(contains(full, "MAXRIGHT's time per step vs Sequential: +12% [+5%, +19%]"));
  EXPECT_FALSE(contains(full, "not measured in a controlled way"));
  EXPECT_EQ(count(full_md, "\n| MAXRIGHT | 0.5 | 2 |"), 1u);
  EXPECT_EQ(count(full_md, "\n|"), 4u);  // header, separator, 2 rows

  for (const std::string& text : {plain, plain_md}) {
    for (const char* column : {"SFT accuracy", "win rate", "MC acc", "s / step", "vs Sequential"})
      EXPECT_FALSE(contains(text, column)) << column;
    EXPECT_TRUE(contains(text, "not measured in a controlled way"));
    EXPECT_FALSE(contains(text, "held-out"));
    EXPECT_FALSE(contains(text, "testbed"));
  }
  EXPECT_TRUE(contains(plain, "2.55 ± 0.071"));  // Sequential's f_SFT 2.5, 2.6
}

TEST(Report, CostBlockWithoutARowAndOptionalFieldsOfTheWrongTypeGiveDashesNotErrors) {
  const std::string dir = (fs::temp_directory_path() / "tandem_report_partial").string();
  fs::remove_all(dir);
  write_fixture_sweep(dir, true);
  json summary = json::parse(read_file(dir + "/summary.json"));
  summary["cost"]["rows"].erase(1);  // MAXRIGHT was not cost-measured
  summary["cost"]["order"] = nullptr;
  write_file_atomic(dir + "/summary.json", summary.dump());
  std::vector<json> lines = read_jsonl(dir + "/runs.jsonl");
  for (auto& line : lines) line["win_rate"]["judge"] = nullptr;
  write_jsonl(dir + "/runs.jsonl", lines);
  ASSERT_EQ(run(tandem_cmd() + " report " + dir + " --markdown " + dir + "/t.md"), 0);
  const std::string md = read_file(dir + "/t.md");
  EXPECT_TRUE(contains(md, "| Sequential | 0.5 | 2 |"));
  EXPECT_TRUE(contains(md, "| – | – | – | – |\n"));  // MAXRIGHT's four cost cells
  EXPECT_TRUE(contains(read_file(dir + "/report.html"), "judge ? ("));
}

// The axis rule: log10 when the values (ideal included) span more than a decade, linear otherwise.
TEST(Report, AxesTurnLogarithmicWhenTheValuesSpanMoreThanADecade) {
  EXPECT_TRUE(wants_log_axis(0.036, 0.431));  // the demo's f_DPO: ratio 12
  EXPECT_FALSE(wants_log_axis(3.4, 3.9));
  EXPECT_FALSE(wants_log_axis(0.0, 8.0));  // zero cannot go on a log axis
  PlotSpec spec{"p", "t", "x", "y", {}, true, 0.05, 0.001, {}, ""};
  spec.series.push_back({method_style("mix"), {{0.2, 0.0012, 0.01, 0.0001, "λ=0.5"}, {0.3, 8.0, 0.02, 1.0, ""}}});
  const std::string svg = svg_plot(spec);
  EXPECT_TRUE(contains(svg, "data-x-scale=\"linear\""));  // 0.05 .. 0.3: ratio 6
  EXPECT_TRUE(contains(svg, "data-y-scale=\"log\""));     // 0.001 .. 8
  EXPECT_TRUE(contains(svg, "(log scale)"));
  EXPECT_EQ(count(svg, "class=\"errbar\""), 4u);
  EXPECT_TRUE(contains(svg, ">Mix<") && contains(svg, ">ideal<") && contains(svg, ">λ=0.5<"));
}

TEST(Report, UpdateReadmeReplacesOnlyTheNamedResultsBlock) {
  const std::string dir = (fs::temp_directory_path() / "tandem_report_readme").string();
  fs::remove_all(dir);
  write_fixture_sweep(dir + "/sweep", false);
  const std::string before = "# Title\n\nText above.\n\n<!-- results:BEGIN demo -->\n| old | table |\n"
                             "<!-- results:END demo -->\n\n<!-- results:BEGIN other -->\nkeep\n"
                             "<!-- results:END other -->\nText below.\n";
  write_file_atomic(dir + "/README.md", before);
  const std::string tandem = tandem_cmd();
  ASSERT_EQ(run(tandem + " report " + dir + "/sweep --markdown " + dir + "/table.md --update-readme " + dir +
                "/README.md"),
            0);
  const std::string table = read_file(dir + "/table.md"), after = read_file(dir + "/README.md");
  EXPECT_EQ(after, "# Title\n\nText above.\n\n<!-- results:BEGIN demo -->\n" + table +
                       "<!-- results:END demo -->\n\n<!-- results:BEGIN other -->\nkeep\n"
                       "<!-- results:END other -->\nText below.\n");
  // Running it again changes nothing.
  ASSERT_EQ(run(tandem + " report " + dir + "/sweep --update-readme " + dir + "/README.md"), 0);
  EXPECT_EQ(read_file(dir + "/README.md"), after);
  // A section without markers is an error naming the marker, and the file is left as it was.
  const auto r = testing::run_tandem(dir, "report " + dir + "/sweep --update-readme " + dir + "/README.md --section missing");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.err, "<!-- results:BEGIN missing -->")) << r.err;
  EXPECT_EQ(read_file(dir + "/README.md"), after);
}

}  // namespace
}  // namespace tandem
