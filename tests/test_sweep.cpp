// `tandem sweep` through the real CLI on a tiny toy sweep (1 lambda, 1 seed, 10 steps): --jobs 2 gives the same
// final values as --jobs 1 bit for bit and really overlaps runs; a failing run's message names its folder and
// train.log while finished runs stay; the controlled cost measurement's shape and its numbers recomputed from its
// own samples; the run summary's eval_data and maxright_ideal. The statistics (Student's t quantile, the paired
// interval) are checked against closed forms, printed tables and a hand computation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "cli_run.h"
#include "io/atomic_file.h"
#include "sweep/child_pool.h"
#include "sweep/cost_measurement.h"
#include "sweep/cost_stats.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CliResult;
using testing::run_tandem;

const double kPi = 3.14159265358979323846;

// ---- statistics --------------------------------------------------------------------------------------------

TEST(SweepCostStats, StudentTQuantileMatchesClosedFormsAndTables) {
  for (double p : {0.975, 0.9, 0.6}) {
    EXPECT_NEAR(student_t_quantile(p, 1), std::tan(kPi * (p - 0.5)), 1e-8) << p;       // Cauchy
    EXPECT_NEAR(student_t_quantile(p, 2), (2 * p - 1) / std::sqrt(2 * p * (1 - p)), 1e-8) << p;  // df = 2
    EXPECT_NEAR(student_t_quantile(1 - p, 5), -student_t_quantile(p, 5), 1e-9) << p;   // symmetric
  }
  // Printed t tables (two-sided 95%), 6 decimals.
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.776445, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 9), 2.262157, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 29), 2.045230, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 1000), 1.962339, 1e-6);
}

TEST(SweepCostStats, PairedComparisonIsATIntervalOnLogRatiosByHand) {
  // Ratios 1.1, 1.0, 1.3: median 1.1 -> +10%; the interval by hand on the log ratios, t(0.975, 2) in closed form.
  const PairedComparison c = compare_paired({2.2, 2.0, 2.6}, {2.0, 2.0, 2.0});
  EXPECT_NEAR(c.pct, 10.0, 1e-12);
  const double l1 = std::log(1.1), l2 = 0.0, l3 = std::log(1.3);
  const double mean = (l1 + l2 + l3) / 3;
  const double var = ((l1 - mean) * (l1 - mean) + (l2 - mean) * (l2 - mean) + (l3 - mean) * (l3 - mean)) / 2;
  const double t2 = 0.95 / std::sqrt(2 * 0.975 * 0.025);  // 4.3027
  const double half = t2 * std::sqrt(var / 3);
  ASSERT_TRUE(c.ci95.has_value());
  EXPECT_NEAR(c.ci95->first, 100 * (std::exp(mean - half) - 1), 1e-6);   // about -19.0%
  EXPECT_NEAR(c.ci95->second, 100 * (std::exp(mean + half) - 1), 1e-6);  // about +56.7%
  EXPECT_TRUE(c.within_noise);

  // A steady +50%: the interval excludes 0, so not noise. Rounds pair: a slow round slows both alike.
  const PairedComparison slow = compare_paired({1.5, 3.04, 1.48}, {1.0, 2.0, 1.0});
  EXPECT_NEAR(slow.pct, 50.0, 1e-9);
  ASSERT_TRUE(slow.ci95.has_value());
  EXPECT_GT(slow.ci95->first, 40.0);
  EXPECT_LT(slow.ci95->second, 60.0);
  EXPECT_FALSE(slow.within_noise);

  // Two rounds: a median but no interval.
  const PairedComparison two = compare_paired({1.2, 1.0}, {1.0, 1.0});
  EXPECT_NEAR(two.pct, 10.0, 1e-12);
  EXPECT_FALSE(two.ci95.has_value());
  EXPECT_FALSE(two.within_noise);
}

TEST(SweepCostStats, RoundsRotateTheMethodOrder) {
  const std::vector<std::string> m = {"sequential", "mix", "alright"};
  EXPECT_EQ(round_order(m, 0), m);
  EXPECT_EQ(round_order(m, 1), (std::vector<std::string>{"mix", "alright", "sequential"}));
  EXPECT_EQ(round_order(m, 2), (std::vector<std::string>{"alright", "sequential", "mix"}));
  EXPECT_EQ(round_order(m, 3), m);
}

// ---- child processes ------------------------------------------------------------------------------------------

TEST(SweepChildPool, ChildrenGetTheirThreadShareUnlessTheUserSetItAndReportHowTheyEnded) {
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  EXPECT_EQ(threads_per_job(1), std::max(1L, cores));
  EXPECT_EQ(threads_per_job(int(cores) * 4), 1);  // never 0
  const fs::path dir = fs::temp_directory_path() / ("tandem_sweep_pool-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const char* saved = std::getenv("OMP_NUM_THREADS");
  const std::string saved_value = saved ? saved : "";
  auto threads_seen = [&](const char* user) {
    if (user) setenv("OMP_NUM_THREADS", user, 1);
    else unsetenv("OMP_NUM_THREADS");
    ChildPool pool("/bin/sh", 3);
    const std::string log = (dir / "env.log").string();
    pool.start({"-c", "echo threads=$OMP_NUM_THREADS"}, log);
    EXPECT_TRUE(pool.wait_any().ok);
    return read_file(log);
  };
  EXPECT_EQ(threads_seen(nullptr), "threads=3\n");
  EXPECT_EQ(threads_seen("5"), "threads=5\n");  // the user's choice wins
  if (saved) setenv("OMP_NUM_THREADS", saved_value.c_str(), 1);
  else unsetenv("OMP_NUM_THREADS");

  ChildPool pool("/bin/sh", 1);
  const pid_t failing = pool.start({"-c", "echo to the log >&2; exit 3"}, (dir / "fail.log").string());
  const pid_t killed = pool.start({"-c", "kill -9 $$"}, (dir / "kill.log").string());
  EXPECT_EQ(pool.running(), 2u);
  for (int i = 0; i < 2; ++i) {
    const ChildPool::Exit e = pool.wait_any();
    EXPECT_FALSE(e.ok);
    EXPECT_EQ(e.how, e.pid == failing ? "exit status 3" : "killed by signal 9") << e.pid << " " << killed;
  }
  EXPECT_EQ(read_file((dir / "fail.log").string()), "to the log\n");  // stderr goes to the log too
  fs::remove_all(dir);
}

// ---- the CLI on a tiny toy sweep -------------------------------------------------------------------------------

struct Sweep {
  CliResult result;
  std::string dir;
};

class SweepCli : public ::testing::Test {
 protected:
  // One folder per process: ctest runs each test of this suite as its own process, possibly side by side.
  static fs::path root() { return fs::temp_directory_path() / ("tandem_sweep_test-" + std::to_string(getpid())); }
  static std::string task() { return (root() / "task" / "train.toml").string(); }
  static std::string tiny() { return " --methods sequential,maxright --lambdas 0.5 --seeds 0 max_steps=10 eval_steps=5"; }

  // The jobs = 1 sweep, with the cost measurement (3 rounds of 3 steps) and --testbed: made once for the suite.
  // OMP_NUM_THREADS is fixed at 1 for every run: reductions depend on the thread count (on this toy sweep f_DPO
  // moves in the 9th digit between 1 and 2 threads), and by default --jobs 1 would give each run 2 threads here
  // and --jobs 2 one. What must not depend on N is everything else: scheduling, the shared reference cache.
  static void SetUpTestSuite() {
    const char* omp = std::getenv("OMP_NUM_THREADS");
    saved_omp_ = omp ? new std::string(omp) : nullptr;
    setenv("OMP_NUM_THREADS", "1", 1);
    fs::remove_all(root());
    fs::create_directories(root());
    ASSERT_EQ(run_tandem(root(), "toy-task task --examples 64").status, 0);
    first_ = new Sweep{run_tandem(root(), "sweep " + task() + tiny() +
                                              " --out jobs1 --jobs 1 --cost-repeats 3 --cost-steps 3 --testbed toy"),
                       (root() / "jobs1").string()};
  }
  static void TearDownTestSuite() {
    delete first_;
    first_ = nullptr;
    if (saved_omp_) setenv("OMP_NUM_THREADS", saved_omp_->c_str(), 1);
    else unsetenv("OMP_NUM_THREADS");
    delete saved_omp_;
    saved_omp_ = nullptr;
    fs::remove_all(root());  // this process's own folder, and the CLI runs' captured output beside it
    fs::remove_all(root().string() + ".io");
  }

  static json read(const fs::path& p) { return json::parse(read_file(p.string())); }

  static Sweep* first_;
  static std::string* saved_omp_;
};
Sweep* SweepCli::first_ = nullptr;
std::string* SweepCli::saved_omp_ = nullptr;

TEST_F(SweepCli, TwoJobsGiveTheSameResultsBitForBitAndOverlapRuns) {
  ASSERT_EQ(first_->result.status, 0) << first_->result.err;
  const CliResult two = run_tandem(root(), "sweep " + task() + tiny() + " --out jobs2 --jobs 2");
  ASSERT_EQ(two.status, 0) << two.err;
  for (const char* run : {"ideal-sft-seed0", "ideal-dpo-seed0", "sequential-lambda0.5-seed0", "maxright-lambda0.5-seed0"}) {
    const json a = read(root() / "jobs1" / run / "summary.json"), b = read(root() / "jobs2" / run / "summary.json");
    for (const char* key : {"f_sft", "f_dpo"}) {
      ASSERT_TRUE(a["final"][key].is_number()) << run;
      EXPECT_EQ(a["final"][key].get<double>(), b["final"][key].get<double>()) << run << " " << key;  // exact
    }
  }
  const json s1 = read(root() / "jobs1" / "summary.json"), s2 = read(root() / "jobs2" / "summary.json");
  EXPECT_EQ(s1["ideal"], s2["ideal"]);
  EXPECT_EQ(s1["jobs"], 1);
  EXPECT_EQ(s2["jobs"], 2);
  EXPECT_EQ(s1["testbed"], "toy");
  EXPECT_TRUE(s2["testbed"].is_null());  // no --testbed: a user's own data
  EXPECT_TRUE(s2["cost"].is_null());

  // Side by side: the two ideal runs overlapped (each started before the other ended; run_info.json is written
  // at the start, summary.json at the end), and MAXRIGHT started only after both had ended.
  auto t = [&](const char* run, const char* file) { return fs::last_write_time(root() / "jobs2" / run / file); };
  EXPECT_LT(t("ideal-sft-seed0", "run_info.json"), t("ideal-dpo-seed0", "summary.json"));
  EXPECT_LT(t("ideal-dpo-seed0", "run_info.json"), t("ideal-sft-seed0", "summary.json"));
  EXPECT_GT(t("maxright-lambda0.5-seed0", "run_info.json"),
            std::max(t("ideal-sft-seed0", "summary.json"), t("ideal-dpo-seed0", "summary.json")));
}

TEST_F(SweepCli, SummaryStatesTheIdealEvalDataAndWhichIdealMaxrightUsed) {
  ASSERT_EQ(first_->result.status, 0) << first_->result.err;
  const json s = read(root() / "jobs1" / "summary.json");
  EXPECT_EQ(s["ideal"]["source"], "single-objective runs");
  EXPECT_EQ(s["ideal"]["seeds"], 1);
  EXPECT_EQ(s["ideal"]["f_sft"], read(root() / "jobs1" / "ideal-sft-seed0" / "summary.json")["final"]["f_sft"]);
  EXPECT_EQ(s["eval_data"], (json{{"sft", "held_out"}, {"preference", "held_out"}}));  // the toy task's eval sets
  // The MAXRIGHT run was given the ideal point (to 17 digits, so exactly) and says so.
  const json m = read(root() / "jobs1" / "maxright-lambda0.5-seed0" / "summary.json");
  EXPECT_EQ(m["maxright_ideal"]["source"], "given");
  EXPECT_EQ(m["maxright_ideal"]["f_sft"], s["ideal"]["f_sft"]);
  EXPECT_EQ(m["maxright_ideal"]["f_dpo"], s["ideal"]["f_dpo"]);
  EXPECT_FALSE(read(root() / "jobs1" / "sequential-lambda0.5-seed0" / "summary.json").contains("maxright_ideal"));
  EXPECT_NE(first_->result.out.find("MAXRIGHT's ideal point: given"), std::string::npos) << first_->result.out;
}

TEST_F(SweepCli, CostMeasurementShapeAndNumbersFollowFromItsSamples) {
  ASSERT_EQ(first_->result.status, 0) << first_->result.err;
  const json cost = read(root() / "jobs1" / "summary.json")["cost"];
  ASSERT_TRUE(cost.is_object());
  EXPECT_EQ(cost["steps"], 3);
  EXPECT_EQ(cost["repeats"], 3);
  EXPECT_EQ(cost["order"], "interleaved rounds, one process at a time");
  ASSERT_EQ(cost["rows"].size(), 2u);
  std::map<std::string, json> rows;
  for (const auto& r : cost["rows"]) rows[r["method"].get<std::string>()] = r;
  for (const auto& [method, r] : rows) {
    EXPECT_EQ(r["lambda"], 0.5);
    for (const char* key : {"seconds_per_step", "peak_memory_mib"}) {
      std::vector<double> v = r[key]["samples"].get<std::vector<double>>();
      ASSERT_EQ(v.size(), 3u) << method << " " << key;
      // The samples are the cost runs' own summary.json values, by round.
      for (int round = 0; round < 3; ++round)
        EXPECT_EQ(v[size_t(round)], read(root() / "jobs1" / "cost" /
                                         (method + "-lambda0.5-round" + std::to_string(round)) / "summary.json")[key])
            << method << " round " << round;
      std::sort(v.begin(), v.end());
      EXPECT_EQ(r[key]["median"], v[1]);
      EXPECT_EQ(r[key]["min"], v[0]);
      EXPECT_EQ(r[key]["max"], v[2]);
    }
  }
  // Sequential against itself: 0% exactly, an interval [0, 0], within noise.
  EXPECT_EQ(rows["sequential"]["time_vs_sequential"]["pct"], 0.0);
  EXPECT_EQ(rows["sequential"]["time_vs_sequential"]["ci95"], json({0.0, 0.0}));
  EXPECT_TRUE(rows["sequential"]["time_vs_sequential"]["within_noise"].get<bool>());
  // MAXRIGHT's numbers recomputed here from the two sample lists (paired by round).
  for (const auto& [field, key] : {std::pair{"time_vs_sequential", "seconds_per_step"},
                                   std::pair{"memory_vs_sequential", "peak_memory_mib"}}) {
    const auto a = rows["maxright"][key]["samples"].get<std::vector<double>>();
    const auto b = rows["sequential"][key]["samples"].get<std::vector<double>>();
    std::vector<double> ratio = {a[0] / b[0], a[1] / b[1], a[2] / b[2]};
    double mean = 0, var = 0;
    for (double r : ratio) mean += std::log(r) / 3;
    for (double r : ratio) var += (std::log(r) - mean) * (std::log(r) - mean) / 2;
    const double half = 0.95 / std::sqrt(2 * 0.975 * 0.025) * std::sqrt(var / 3);
    std::sort(ratio.begin(), ratio.end());
    const json& c = rows["maxright"][field];
    EXPECT_NEAR(c["pct"].get<double>(), 100 * (ratio[1] - 1), 1e-9) << field;
    EXPECT_NEAR(c["ci95"][0].get<double>(), 100 * (std::exp(mean - half) - 1), 1e-6) << field;
    EXPECT_NEAR(c["ci95"][1].get<double>(), 100 * (std::exp(mean + half) - 1), 1e-6) << field;
    EXPECT_EQ(c["within_noise"].get<bool>(), c["ci95"][0].get<double>() <= 0 && c["ci95"][1].get<double>() >= 0);
  }
  // Timing runs: 3 steps, no checkpoint, nothing evaluated; rounds rotate the order (round 1: MAXRIGHT first).
  const fs::path c0 = root() / "jobs1" / "cost" / "sequential-lambda0.5-round0";
  const json s0 = read(c0 / "summary.json");
  EXPECT_EQ(s0["steps"], 3);
  EXPECT_TRUE(s0["final"]["f_sft"].is_null() && s0["final"]["f_dpo"].is_null());
  for (const auto& e : fs::directory_iterator(c0)) EXPECT_EQ(e.path().filename().string().rfind("checkpoint-", 0), std::string::npos);
  auto end = [&](const std::string& run) { return fs::last_write_time(root() / "jobs1" / "cost" / run / "summary.json"); };
  EXPECT_LT(end("sequential-lambda0.5-round0"), end("maxright-lambda0.5-round0"));
  EXPECT_LT(end("maxright-lambda0.5-round1"), end("sequential-lambda0.5-round1"));
  EXPECT_LT(end("sequential-lambda0.5-round2"), end("maxright-lambda0.5-round2"));
  EXPECT_NE(first_->result.out.find("controlled cost: 3 steps per run, 3 interleaved rounds"), std::string::npos);
}

TEST_F(SweepCli, AFailingRunNamesItsFolderAndLogAndFinishedRunsStay) {
  ASSERT_EQ(first_->result.status, 0) << first_->result.err;
  fs::remove_all(root() / "resumed");
  fs::copy(root() / "jobs1", root() / "resumed", fs::copy_options::recursive);
  const fs::path kept = root() / "resumed" / "sequential-lambda0.5-seed0" / "summary.json";
  const auto kept_time = fs::last_write_time(kept);
  // The finished runs are skipped, so the bad value reaches only the new Mix run, which fails.
  const CliResult r = run_tandem(root(), "sweep " + task() +
                                             " --methods sequential,maxright,mix --lambdas 0.5 --seeds 0 --out resumed "
                                             "max_steps=10 eval_steps=5 learning_rate=-1");
  EXPECT_NE(r.status, 0);
  const std::string mix = (root() / "resumed" / "mix-lambda0.5-seed0").string();
  EXPECT_NE(r.err.find("sweep: run resumed/mix-lambda0.5-seed0 failed (exit status"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("see resumed/mix-lambda0.5-seed0/train.log: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("learning_rate"), std::string::npos) << r.err;  // the log's last line: the run's own error
  EXPECT_NE(read_file(mix + "/train.log").find("learning_rate"), std::string::npos);
  EXPECT_EQ(fs::last_write_time(kept), kept_time);  // not rerun
  EXPECT_FALSE(fs::exists(mix + "/summary.json"));
}

TEST_F(SweepCli, RunSummaryEvalDataAndMaxrightIdealSources) {
  ASSERT_EQ(first_->result.status, 0) << first_->result.err;
  auto train = [&](const std::string& name, const std::string& overrides) {
    const CliResult r = run_tandem(root(), "train " + task() + " max_steps=4 eval_steps=0 output_dir=" + name + " " +
                                               overrides);
    EXPECT_EQ(r.status, 0) << name << ": " << r.err;
    return read(root() / name / "summary.json");
  };
  // No eval sets: f_SFT/f_DPO come from the first training examples; no ideal given: MAXRIGHT's is zero.
  const json zero = train("zero", "strategy=maxright sft_eval_dataset=\"\" preference_eval_dataset=\"\"");
  EXPECT_EQ(zero["eval_data"], (json{{"sft", "training_subset"}, {"preference", "training_subset"}}));
  EXPECT_EQ(zero["maxright_ideal"], (json{{"f_sft", 0.0}, {"f_dpo", 0.0}, {"source", "zero"}}));
  // running_min: the minima it reached, no larger than any loss its step lines logged.
  const json rm = train("running_min", "strategy=maxright maxright_ideal=running_min");
  EXPECT_EQ(rm["eval_data"], (json{{"sft", "held_out"}, {"preference", "held_out"}}));
  EXPECT_EQ(rm["maxright_ideal"]["source"], "running_min");
  double min_sft = INFINITY, min_dpo = INFINITY;
  std::stringstream log(read_file((root() / "running_min" / "metrics.jsonl").string()));
  for (std::string line; std::getline(log, line);) {
    const json j = json::parse(line);
    if (j.contains("eval")) continue;
    if (j["f_sft"].is_number()) min_sft = std::min(min_sft, j["f_sft"].get<double>());
    if (j["f_dpo"].is_number()) min_dpo = std::min(min_dpo, j["f_dpo"].get<double>());
  }
  ASSERT_TRUE(rm["maxright_ideal"]["f_sft"].is_number() && rm["maxright_ideal"]["f_dpo"].is_number());
  EXPECT_GT(rm["maxright_ideal"]["f_sft"].get<double>(), 0.0);
  EXPECT_LE(rm["maxright_ideal"]["f_sft"].get<double>(), min_sft);
  EXPECT_LE(rm["maxright_ideal"]["f_dpo"].get<double>(), min_dpo);
  // No preference data: that side is null; not MAXRIGHT: no maxright_ideal.
  const json sft = train("sft_only", "strategy=sft preference_dataset=\"\" preference_eval_dataset=\"\"");
  EXPECT_EQ(sft["eval_data"], (json{{"sft", "held_out"}, {"preference", nullptr}}));
  EXPECT_FALSE(sft.contains("maxright_ideal"));
}

}  // namespace
}  // namespace tandem
