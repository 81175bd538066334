// `tandem sweep`: methods x lambdas x seeds, each run a separate `tandem train` process (so peak memory is per
// run), plus single-objective SFT and DPO runs per seed that give the ideal point f*. Finished runs (with a
// summary.json) are skipped, so an interrupted sweep continues where it stopped.
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "core/check.h"
#include "core/progress.h"
#include "eval/metrics.h"
#include "io/atomic_file.h"
#include "io/json_file.h"

extern char** environ;

namespace tandem {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Run {
  std::string method, dir;
  double lambda;
  std::string seed;
  nlohmann::json summary, initial;  // summary.json and the step-0 evaluation
};

// Runs `tandem train` in a child process with its output in DIR/train.log; throws if it fails.
void run_child(const std::string& config, std::vector<std::string> overrides, const std::string& dir) {
  fs::create_directories(dir);
  std::vector<std::string> argv_s = {"tandem", "train", config};
  argv_s.insert(argv_s.end(), overrides.begin(), overrides.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = dir + "/train.log";
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  TANDEM_CHECK(err == 0, "sweep: cannot start tandem train: ", std::strerror(err));
  int status = 0;
  waitpid(pid, &status, 0);
  TANDEM_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sweep: run in ", dir, " failed; see ", log);
}

nlohmann::json initial_eval(const std::string& dir) {
  std::ifstream in(dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("eval") && j["step"] == 0) return j;
  }
  return {};
}

double get(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

std::string fmt(const MeanStd& m, const char* f = "%.4f") {
  char a[32], b[32];
  std::snprintf(a, sizeof a, f, m.mean);
  std::snprintf(b, sizeof b, f, m.std);
  return std::string(a) + " +- " + b;
}

}  // namespace

int cmd_sweep(int argc, char** argv) {
  TANDEM_CHECK(argc >= 1, "usage: tandem sweep CONFIG.toml [--methods LIST] [--lambdas LIST] [--seeds LIST] "
                          "[--out DIR] [key=value ...]");
  const std::string config = argv[0];
  std::vector<std::string> methods = {"sequential", "mix", "alright", "maxright"}, seeds = {"0", "1", "2"};
  std::vector<std::string> lambdas_s = {"0.5"}, overrides;
  std::string out = "runs/sweep";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      TANDEM_CHECK(i + 1 < argc, "sweep: ", a, " needs a value");
      return argv[++i];
    };
    if (a == "--methods") methods = split(value());
    else if (a == "--lambdas") lambdas_s = split(value());
    else if (a == "--seeds") seeds = split(value());
    else if (a == "--out") out = value();
    else if (a.find('=') != std::string::npos && a.rfind("--", 0) != 0) overrides.push_back(a);
    else fail("sweep: unknown argument '", a, "'");
  }
  for (const auto& m : methods)
    TANDEM_CHECK(m == "sequential" || m == "mix" || m == "alright" || m == "maxright", "sweep: unknown method '", m,
                 "'");
  std::vector<double> lambdas;
  for (const auto& l : lambdas_s) lambdas.push_back(std::stod(l));

  const int64_t total = int64_t(seeds.size() * (2 + methods.size() * lambdas.size()));
  ProgressBar bar("sweep", total);
  int64_t done = 0;
  auto run = [&](Run r, std::vector<std::string> extra) {
    if (!fs::exists(r.dir + "/summary.json")) {
      extra.insert(extra.begin(), overrides.begin(), overrides.end());
      extra.push_back("output_dir=\"" + r.dir + "\"");
      extra.push_back("seed=" + r.seed);
      extra.push_back("progress=false");
      run_child(config, extra, r.dir);
    }
    r.summary = read_json_file(r.dir + "/summary.json");
    r.initial = initial_eval(r.dir);
    bar.update(++done, 0, r.method);
    return r;
  };

  // 1. The ideal point: best single-objective values, averaged over seeds.
  std::vector<double> ideal_sft_runs, ideal_dpo_runs;
  for (const auto& seed : seeds) {
    const Run s = run({"sft", out + "/ideal-sft-seed" + seed, 0.0, seed, {}, {}}, {"strategy=\"sft\""});
    const Run d = run({"dpo", out + "/ideal-dpo-seed" + seed, 1.0, seed, {}, {}}, {"strategy=\"dpo\""});
    ideal_sft_runs.push_back(get(s.summary["final"], "f_sft"));
    ideal_dpo_runs.push_back(get(d.summary["final"], "f_dpo"));
  }
  const double ideal_sft = mean_std(ideal_sft_runs).mean, ideal_dpo = mean_std(ideal_dpo_runs).mean;
  char ideal_args[2][64];
  std::snprintf(ideal_args[0], 64, "sft_ideal=%.17g", ideal_sft);
  std::snprintf(ideal_args[1], 64, "dpo_ideal=%.17g", ideal_dpo);

  // 2. Every method at every lambda and seed.
  std::vector<Run> runs;
  for (double lambda : lambdas)
    for (const auto& method : methods)
      for (const auto& seed : seeds) {
        char dir[256];
        std::snprintf(dir, sizeof dir, "%s/%s-lambda%g-seed%s", out.c_str(), method.c_str(), lambda, seed.c_str());
        std::vector<std::string> extra = {"strategy=\"" + method + "\"", "lambda=" + std::to_string(lambda)};
        if (method == "maxright") extra.insert(extra.end(), {ideal_args[0], ideal_args[1], "maxright_ideal=\"given\""});
        runs.push_back(run({method, dir, lambda, seed, {}, {}}, extra));
      }

  // 3. Aggregate over seeds.
  std::string per_run;  // runs.jsonl, written (checked) with summary.json
  nlohmann::json rows = nlohmann::json::array();
  std::map<double, double> sequential_time, sequential_mem;
  std::printf("\nideal point: f*_SFT = %.4f, f*_DPO = %.4f (single-objective runs, %zu seeds)\n", ideal_sft, ideal_dpo,
              seeds.size());
  std::printf("%-10s %6s | %-18s %-18s | %-18s %-18s | %9s %8s\n", "method", "lambda", "f_SFT", "f_DPO",
              "ideal dist", "normalised", "s/step", "peak MiB");
  for (double lambda : lambdas)
    for (const auto& method : methods) {
      std::vector<double> fs_, fd, dist, ndist, secs, mem;
      for (const auto& r : runs) {
        if (r.method != method || r.lambda != lambda) continue;
        const double s = get(r.summary["final"], "f_sft"), d = get(r.summary["final"], "f_dpo");
        fs_.push_back(s);
        fd.push_back(d);
        dist.push_back(ideal_distance(s, d, ideal_sft, ideal_dpo));
        ndist.push_back(normalised_ideal_distance(s, d, ideal_sft, ideal_dpo, get(r.initial, "f_sft"),
                                                  get(r.initial, "f_dpo")));
        secs.push_back(get(r.summary, "seconds_per_step"));
        mem.push_back(get(r.summary, "peak_memory_mib"));
        nlohmann::json line = r.summary;
        line["method"] = method;
        line["ideal_distance"] = dist.back();
        line["normalised_ideal_distance"] = ndist.back();
        line["initial"] = r.initial;
        line["dir"] = r.dir;
        per_run += line.dump() + "\n";
      }
      const MeanStd t = mean_std(secs), m = mean_std(mem);
      if (method == "sequential") sequential_time[lambda] = t.mean, sequential_mem[lambda] = m.mean;
      nlohmann::json row = {{"method", method},
                            {"lambda", lambda},
                            {"f_sft", {mean_std(fs_).mean, mean_std(fs_).std}},
                            {"f_dpo", {mean_std(fd).mean, mean_std(fd).std}},
                            {"ideal_distance", {mean_std(dist).mean, mean_std(dist).std}},
                            {"normalised_ideal_distance", {mean_std(ndist).mean, mean_std(ndist).std}},
                            {"seconds_per_step", t.mean},
                            {"peak_memory_mib", m.mean},
                            {"seeds", fs_.size()}};
      if (sequential_time.count(lambda)) {
        row["time_vs_sequential_pct"] = 100.0 * (t.mean / sequential_time[lambda] - 1.0);
        row["memory_vs_sequential_pct"] = 100.0 * (m.mean / sequential_mem[lambda] - 1.0);
      }
      rows.push_back(row);
      std::printf("%-10s %6.2f | %-18s %-18s | %-18s %-18s | %9.4f %8.1f\n", method.c_str(), lambda,
                  fmt(mean_std(fs_)).c_str(), fmt(mean_std(fd)).c_str(), fmt(mean_std(dist)).c_str(),
                  fmt(mean_std(ndist)).c_str(), t.mean, m.mean);
    }
  const nlohmann::json summary = {{"ideal", {{"f_sft", ideal_sft}, {"f_dpo", ideal_dpo}}}, {"rows", rows}};
  write_file_atomic(out + "/runs.jsonl", per_run);
  write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
  std::printf("wrote %s/summary.json and %s/runs.jsonl\n", out.c_str(), out.c_str());
  return 0;
}

}  // namespace tandem
