// Crash safety of checkpoints and of the log. `tandem train` is stopped right before each filesystem step of its
// saves in turn (TANDEM_CRASH_AT_SAVE_STEP, io/crash_points.h) and by SIGKILL at random moments: no checkpoint-N
// folder is ever incomplete, the latest one holds exactly the uninterrupted run's state of its step, and the
// resumed run ends with the uninterrupted run's weights and log, bit for bit. Also: leftovers of dead saves are
// cleaned up when a run starts, an incomplete folder is never resumed from, save_total_limit, and a full disk
// stops the run with an error naming the file, losing no log line.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <omp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/checked_write.h"
#include "io/json_file.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "expect_error.h"
#include "trainer_fixtures.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::make_task;
using testing::metrics;

constexpr int kCrashExit = 77;  // io/crash_points.cpp

// Every run here is tiny: on a busy machine one OpenMP thread runs it several times faster than threads that spin
// waiting for a core. Results are compared only between runs with the same thread count.
const std::string kOneThread = "OMP_NUM_THREADS=1";
struct OneOpenMpThread {
  const int saved = omp_get_max_threads();
  OneOpenMpThread() { omp_set_num_threads(1); }
  ~OneOpenMpThread() { omp_set_num_threads(saved); }
};

// The toy task, shortened to 4 steps with checkpoints at 2 and 4.
std::string short_task(const std::string& name) {
  std::string text = make_task(name);
  const std::string steps = "max_steps = 12\n";
  text.replace(text.find(steps), steps.size(), "max_steps = 4\nsave_steps = 2\n");
  return text + "strategy = \"alright\"\n";
}

using testing::expect_error;

std::vector<std::string> names_in(const std::string& dir, const std::string& pattern) {
  const std::regex re(pattern);
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;  // killed while starting, before the run made its folder
  for (const auto& e : fs::directory_iterator(dir))
    if (std::regex_match(e.path().filename().string(), re)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// What a crash or a restart may leave: checkpoint folders, and leftovers of saves.
std::vector<std::string> checkpoint_names(const std::string& out) { return names_in(out, R"(checkpoint-[0-9]+)"); }
std::vector<std::string> leftovers(const std::string& out) { return names_in(out, R"(.*\.(tmp|old)[-.][0-9]+)"); }

// The invariant of every moment: a folder named checkpoint-N is complete.
void expect_no_incomplete_checkpoint(const std::string& out, const std::string& context) {
  for (const std::string& name : checkpoint_names(out)) {
    const CheckpointStatus s = checkpoint_status(out + "/" + name);
    EXPECT_TRUE(s.complete) << context << ": " << name << ": " << s.problem;
  }
}

// The same training state: weights, optimizer moments and trainer_state.json, timings and config aside.
void expect_same_state(const std::string& a, const std::string& b, const std::string& context) {
  EXPECT_TRUE(read_file(a + "/model.safetensors") == read_file(b + "/model.safetensors")) << context;
  EXPECT_TRUE(read_file(a + "/optimizer.safetensors") == read_file(b + "/optimizer.safetensors")) << context;
  const auto state = [](const std::string& dir) {
    nlohmann::json j = read_json_file(dir + "/trainer_state.json");
    j.erase("config");
    j.erase("train_seconds");
    return j;
  };
  EXPECT_EQ(state(a), state(b)) << context;
}

// The log by (evaluation?, step): resuming a finished run evaluates its last step again, to the same values.
std::map<std::pair<bool, int64_t>, nlohmann::json> log_by_step(const std::string& out) {
  std::map<std::pair<bool, int64_t>, nlohmann::json> m;
  for (const auto& j : metrics(out)) m[{j.contains("eval"), j["step"].get<int64_t>()}] = j;
  return m;
}

// The toy task's config as a file, for the CLI.
struct Task {
  std::string dir, config;
};

Task write_task(const std::string& name) {
  const std::string text = short_task(name);
  const std::string dir = (fs::temp_directory_path() / ("tandem_trainer_" + name)).string();
  write_file_atomic(dir + "/crash.toml", text);
  return {dir, dir + "/crash.toml"};
}

// `tandem train` on the task into `out`, its output in <out>.log; returns its exit status.
int train(const Task& t, const std::string& out, const std::string& args, int crash_at_save_step = 0) {
  const std::string env = kOneThread + " " +
      (crash_at_save_step > 0 ? "TANDEM_CRASH_AT_SAVE_STEP=" + std::to_string(crash_at_save_step) + " " : "");
  const std::string cmd = env + TANDEM_BINARY + " train " + t.config + " output_dir=" + out + " " + args + " > " +
                          out + ".log 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The crash hook's line ("crash test: exiting before save step k: rename ..."), or the whole log.
std::string crash_line(const std::string& out) {
  const std::string log = read_file(out + ".log");
  const size_t at = log.find("crash test:");
  return at == std::string::npos ? log : log.substr(at, log.find('\n', at) - at);
}

// A PID no process has: PIDs stay below pid_max.
std::string dead_pid() {
  std::ifstream in("/proc/sys/kernel/pid_max");
  int64_t pid_max = 4194304;
  in >> pid_max;
  return std::to_string(pid_max);
}

class CrashSafety : public ::testing::Test {
 protected:
  // The task in a folder of this test's own (ctest runs tests in parallel), and one uninterrupted run
  // (checkpoints at 2 and 4) that every interrupted one must reproduce.
  void SetUp() override {
    task_ = write_task(std::string("crash_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    reference_ = task_.dir + "/uninterrupted";
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(train(task_, reference_, ""), 0) << read_file(reference_ + ".log");
    run_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // What a restart finds, checked on a copy (the crashed folder stays as it is for a real resume): no leftovers
  // once cleaned up, and a latest checkpoint holding exactly the reference's state of its step. Returns that step.
  int64_t check_restart(const std::string& out, const std::string& context) {
    const std::string copy = out + ".restart";
    fs::remove_all(copy);
    fs::copy(out, copy, fs::copy_options::recursive);
    recover_interrupted_saves(copy);
    EXPECT_EQ(leftovers(copy), std::vector<std::string>{}) << context;
    expect_no_incomplete_checkpoint(copy, context);
    const std::string latest = latest_checkpoint(copy);
    if (latest.empty()) return 0;
    const std::string name = fs::path(latest).filename().string();
    expect_same_state(latest, reference_ + "/" + name, context);
    return std::stoll(name.substr(std::string("checkpoint-").size()));
  }

  // Resumes the crashed run in `out` in a new process, as a user would, and expects the uninterrupted result.
  void expect_resume_matches_reference(const std::string& out, const std::string& args,
                                              const std::string& context) {
    const bool resumable = !latest_checkpoint(out).empty() || !names_in(out, R"(checkpoint-[0-9]+\.old-.*)").empty();
    ASSERT_EQ(train(task_, out, args + (resumable ? " resume_from_checkpoint=latest" : "")), 0)
        << context << "\n" << read_file(out + ".log");
    EXPECT_TRUE(read_file(out + "/checkpoint-4/model.safetensors") ==
                read_file(reference_ + "/checkpoint-4/model.safetensors"))
        << context;
    EXPECT_EQ(log_by_step(out), log_by_step(reference_)) << context;
    EXPECT_EQ(leftovers(out), std::vector<std::string>{}) << context;
  }

  Task task_;
  std::string reference_;
  double run_seconds_ = 0;
};

// Crashes before each step of the two saves (checkpoint-2, then checkpoint-4 while 2 exists) and of the rotation
// that save_total_limit = 1 then does. After each crash the restart's view is checked, and a later crash never
// resumes from an earlier step; every 4th crashed run is also resumed in a new process, to the end.
TEST_F(CrashSafety, KilledBeforeAnyStepOfASaveLeavesCompleteCheckpointsAndResumesExactly) {
  const std::string out = task_.dir + "/crashed";
  int crashes = 0;
  int64_t resumed_step = 0;
  for (int k = 1;; ++k) {
    ASSERT_LT(k, 200) << "the run never completed";
    fs::remove_all(out);
    const int status = train(task_, out, "save_total_limit=1", k);
    if (status == 0) break;  // k is past the last step
    ASSERT_EQ(status, kCrashExit) << read_file(out + ".log");
    ++crashes;
    const std::string context = crash_line(out);
    expect_no_incomplete_checkpoint(out, context);
    const int64_t step = check_restart(out, context);
    EXPECT_GE(step, resumed_step) << context << ": the restart goes back to an earlier checkpoint";
    resumed_step = step;
    if (k % 4 == 0) {
      expect_resume_matches_reference(out, "save_total_limit=1", context);
      EXPECT_EQ(checkpoint_names(out), std::vector<std::string>{"checkpoint-4"}) << context;
    }
  }
  EXPECT_EQ(resumed_step, 4);
  EXPECT_GE(crashes, 40);  // two saves of ~24 steps each, and a rotation
  expect_same_state(out + "/checkpoint-4", reference_ + "/checkpoint-4", "the completed run");
  EXPECT_EQ(checkpoint_names(out), std::vector<std::string>{"checkpoint-4"});
  EXPECT_EQ(log_by_step(out), log_by_step(reference_));
  RecordProperty("crashes", crashes);
}

// Resuming a finished run saves its last checkpoint again under the same name; a crash at any step of that
// must still leave a complete checkpoint-4 (the old copy or the new one) once the next run starts.
TEST_F(CrashSafety, KilledWhileReplacingACheckpointKeepsACompleteCopy) {
  const std::string out = task_.dir + "/resaved";
  int crashes = 0;
  for (int k = 1;; ++k) {
    ASSERT_LT(k, 200) << "the run never completed";
    fs::remove_all(out);
    fs::copy(reference_, out, fs::copy_options::recursive);
    const int status = train(task_, out, "resume_from_checkpoint=latest", k);
    if (status == 0) break;
    ASSERT_EQ(status, kCrashExit) << read_file(out + ".log");
    ++crashes;
    const std::string context = crash_line(out);
    expect_no_incomplete_checkpoint(out, context);
    EXPECT_EQ(check_restart(out, context), 4) << context;
    if (k % 4 == 0) expect_resume_matches_reference(out, "", context);
  }
  EXPECT_GE(crashes, 25);
  RecordProperty("crashes", crashes);
  expect_same_state(out + "/checkpoint-4", reference_ + "/checkpoint-4", "the completed run");
}

// kill -9 at random moments (a seeded draw, so a failure repeats) of a run that saves every step.
TEST_F(CrashSafety, KilledAtRandomMomentsResumesExactly) {
  const std::string out = task_.dir + "/killed";
  std::mt19937 rng(20240607);
  std::uniform_real_distribution<double> moment(0.2 * run_seconds_, run_seconds_);
  for (int i = 0; i < 3; ++i) {
    fs::remove_all(out);
    std::vector<std::string> args = {TANDEM_BINARY, "train", task_.config, "output_dir=" + out, "save_steps=1"};
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string one_thread = kOneThread;
    for (char** e = environ; *e; ++e)
      if (!std::string(*e).starts_with("OMP_NUM_THREADS=")) envp.push_back(*e);
    envp.push_back(one_thread.data());
    envp.push_back(nullptr);
    const std::string log = out + ".log";
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // only async-signal-safe calls until exec
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    const double seconds = moment(rng);
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const std::string context = "killed after " + std::to_string(seconds) + " s (" +
                                (WIFSIGNALED(status) ? "during the run" : "after it ended") + "), leaving " +
                                std::to_string(checkpoint_names(out).size()) + " checkpoints and " +
                                std::to_string(leftovers(out).size()) + " leftovers";
    RecordProperty("kill_" + std::to_string(i), context);
    expect_no_incomplete_checkpoint(out, context);
    expect_resume_matches_reference(out, "save_steps=1", context);
  }
}

// Leftovers of dead saves go when a run starts; a checkpoint caught between the renames of its replacement comes
// back; incomplete folders are passed over by "latest" and refused when named.
// A real full disk: output_dir on a tmpfs with room for one checkpoint and a half, mounted in a user and mount
// namespace (no privilege needed; skipped, saying why, where the system allows none). The second save runs out of
// space: the run stops with an error naming the reason, the disk holds only complete checkpoints, and resuming
// from the latest one where there is room ends with the uninterrupted run's weights.
TEST_F(CrashSafety, ASmallTmpfsStopsTheRunWithOnlyCompleteCheckpointsLeft) {
  if (std::system("unshare --user --map-root-user --mount true > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: unshare --user --mount is not permitted";
  int64_t one = 0;  // pages a checkpoint takes on tmpfs
  for (const auto& f : fs::recursive_directory_iterator(reference_ + "/checkpoint-2"))
    if (f.is_regular_file()) one += (int64_t(f.file_size()) + 4095) / 4096 * 4096;
  const int64_t size = (one * 3 / 2 + 4095) / 4096 * 4096;
  const std::string mnt = task_.dir + "/tmpfs", kept = task_.dir + "/after_full";
  fs::remove_all(kept);
  fs::create_directories(mnt);
  const std::string run = "OMP_NUM_THREADS=1 " + std::string(TANDEM_BINARY) + " train " + task_.config +
                          " output_dir=" + mnt + "/run > " + mnt + ".log 2>&1";
  // The tmpfs lives as long as the namespace: what the run left is copied out before it ends.
  const std::string cmd = "unshare --user --map-root-user --mount sh -c 'mount -t tmpfs -o size=" +
                          std::to_string(size) + " tmpfs " + mnt + " && " + run + "; rc=$?; cp -a " + mnt +
                          "/run " + kept + "; exit $rc'";
  const int status = std::system(cmd.c_str());
  const std::string log = read_file(mnt + ".log");
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << "exit " << status << "\n" << log;
  EXPECT_NE(log.find("No space left on device"), std::string::npos) << log;
  expect_no_incomplete_checkpoint(kept, "full tmpfs");
  EXPECT_EQ(leftovers(kept), std::vector<std::string>{}) << "a failed save removes its temporary folder";
  ASSERT_EQ(fs::path(latest_checkpoint(kept)).filename(), "checkpoint-2") << log;
  expect_same_state(kept + "/checkpoint-2", reference_ + "/checkpoint-2", "full tmpfs");
  ASSERT_EQ(train(task_, kept, "resume_from_checkpoint=latest"), 0) << read_file(kept + ".log");
  EXPECT_TRUE(read_file(kept + "/checkpoint-4/model.safetensors") ==
              read_file(reference_ + "/checkpoint-4/model.safetensors"));
}

TEST(CheckpointFolders, LeftoversOfDeadSavesAreCleanedAndIncompleteFoldersAreNeverResumed) {
  OneOpenMpThread one_thread;
  const std::string base = short_task("stale");
  const std::string out = (fs::temp_directory_path() / "tandem_trainer_stale/run").string();
  const auto cfg = [&](std::vector<std::string> overrides) { return TrainConfig::from_toml_string(base, overrides); };
  Trainer(cfg({})).train();
  const auto copy = [&](const std::string& from, const std::string& to) {
    fs::copy(out + "/" + from, out + "/" + to, fs::copy_options::recursive);
  };
  const std::string dead = dead_pid();
  fs::rename(out + "/checkpoint-4", out + "/checkpoint-4.old-" + dead);  // died between a re-save's renames
  copy("checkpoint-2", "checkpoint-2.old-" + dead);                      // replaced, not yet removed
  copy("checkpoint-2", "checkpoint-6.tmp-" + dead);                      // a save that never finished
  copy("checkpoint-2", "checkpoint-8.tmp-1");                            // process 1 is alive: not ours to remove
  for (const char* file : {"metrics.jsonl", "metrics.csv", "summary.json", "run_info.json"})  // write_file_atomic's
    write_file_atomic(out + "/" + file + ".tmp." + dead, "{}\n");
  copy("checkpoint-2", "checkpoint-9");
  fs::remove(out + "/checkpoint-9/checkpoint_complete.json");  // written by this version, but never finished
  copy("checkpoint-2", "checkpoint-10");
  fs::resize_file(out + "/checkpoint-10/model.safetensors", 100);  // damaged after the save

  Trainer resumed(cfg({"resume_from_checkpoint=latest"}));
  EXPECT_EQ(resumed.step(), 4);  // checkpoint-4 is back; 9 and 10 are passed over
  EXPECT_EQ(leftovers(out), std::vector<std::string>{"checkpoint-8.tmp-1"});
  std::vector<std::string> skipped;
  EXPECT_EQ(latest_checkpoint(out, &skipped), out + "/checkpoint-4");
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[0].find("checkpoint-10: model.safetensors has 100 bytes"), std::string::npos) << skipped[0];
  EXPECT_NE(skipped[1].find("checkpoint-9: no checkpoint_complete.json"), std::string::npos) << skipped[1];

  expect_error([&] { Trainer(cfg({"resume_from_checkpoint=\"" + out + "/checkpoint-9\""})); },
               {out + "/checkpoint-9", "incomplete", "checkpoint_complete.json"});
  fs::remove_all(out + "/checkpoint-4");
  fs::remove_all(out + "/checkpoint-2");
  expect_error([&] { Trainer(cfg({"resume_from_checkpoint=latest"})); },
               {"no complete checkpoint", "checkpoint-9", "checkpoint-10"});
  fs::remove_all(out + "/checkpoint-8.tmp-1");
}

// Checkpoints of the version before manifests are resumed from when every file is there and parses.
TEST(CheckpointFolders, CheckpointsWithoutAManifestFromEarlierVersionsAreCheckedFileByFile) {
  OneOpenMpThread one_thread;
  const std::string out = (fs::temp_directory_path() / "tandem_trainer_legacy/run").string();
  Trainer(TrainConfig::from_toml_string(short_task("legacy"), {})).train();
  const std::string legacy = out + "/checkpoint-2";
  fs::remove(legacy + "/checkpoint_complete.json");
  nlohmann::json state = read_json_file(legacy + "/trainer_state.json");
  state.erase("checkpoint_format");
  write_file_atomic(legacy + "/trainer_state.json", state.dump(2));
  EXPECT_TRUE(checkpoint_status(legacy).complete) << checkpoint_status(legacy).problem;

  fs::resize_file(legacy + "/model.safetensors", 200);
  EXPECT_NE(checkpoint_status(legacy).problem.find("model.safetensors"), std::string::npos);
  fs::remove(legacy + "/model.safetensors");
  EXPECT_NE(checkpoint_status(legacy).problem.find("model.safetensors"), std::string::npos);
  fs::remove_all(out + "/checkpoint-4");
  EXPECT_EQ(latest_checkpoint(out), "");  // a remove_all cut short by the old save is never resumed from
}

TEST(CheckpointFolders, SaveTotalLimitKeepsTheNewestCompleteCheckpoints) {
  OneOpenMpThread one_thread;
  const std::string base = short_task("limit");
  const std::string out = (fs::temp_directory_path() / "tandem_trainer_limit/run").string();
  Trainer(TrainConfig::from_toml_string(base, {"max_steps=6", "save_steps=1", "save_total_limit=2"})).train();
  EXPECT_EQ(checkpoint_names(out), (std::vector<std::string>{"checkpoint-5", "checkpoint-6"}));
  EXPECT_EQ(leftovers(out), std::vector<std::string>{});

  // A save of a lower step than one already there (a fresh run in an old folder) deletes neither.
  remove_old_checkpoints(out, 1, out + "/checkpoint-5");
  EXPECT_EQ(checkpoint_names(out), (std::vector<std::string>{"checkpoint-5", "checkpoint-6"}));
  remove_old_checkpoints(out, 1, out + "/checkpoint-6");
  EXPECT_EQ(checkpoint_names(out), std::vector<std::string>{"checkpoint-6"});

  expect_error([&] { TrainConfig::from_toml_string(base, {"save_total_limit=-1"}); }, {"save_total_limit"});
}

TEST(FullDisk, AFailedAppendNamesTheFileAndTheReason) {
  expect_error([] { append_to_file("/dev/full", "{}\n"); }, {"/dev/full", "No space left on device"});
  expect_error([] { append_to_file("/nonexistent-folder/metrics.jsonl", "{}\n"); },
               {"/nonexistent-folder/metrics.jsonl", "No such file or directory"});
  EXPECT_NO_THROW(sync_file("/dev/full"));  // a device keeps nothing to sync
}

// metrics.jsonl turned into /dev/full: at the start the run stops before training; mid-run it stops after saving
// the step's checkpoint with the line it could not write, and the resumed run's log and weights equal a run
// that never stopped.
TEST(FullDisk, AnUnwritableLogStopsTheRunAndTheResumedRunLosesNoLine) {
  OneOpenMpThread one_thread;
  const std::string base = make_task("full_disk") + "strategy = \"alright\"\n";
  const std::string dir = (fs::temp_directory_path() / "tandem_trainer_full_disk").string();
  const auto cfg = [&](const std::string& out, std::vector<std::string> overrides) {
    overrides.push_back("output_dir=\"" + out + "\"");
    return TrainConfig::from_toml_string(base, overrides);
  };
  Trainer(cfg(dir + "/straight", {})).train();

  const std::string out = dir + "/run", log = out + "/metrics.jsonl";
  {
    Trainer t(cfg(out, {}));
    t.train(3);
    fs::rename(log, log + ".saved");
    fs::create_symlink("/dev/full", log);
    expect_error([&] { t.train(); }, {"step 4", log, "No space left on device", out + "/checkpoint-4"});
  }
  EXPECT_TRUE(checkpoint_status(out + "/checkpoint-4").complete);
  fs::remove(log);
  fs::rename(log + ".saved", log);  // room again
  Trainer resumed(cfg(out, {"resume_from_checkpoint=latest"}));
  EXPECT_EQ(resumed.step(), 4);
  resumed.train();
  EXPECT_EQ(metrics(dir + "/straight"), metrics(out));
  EXPECT_TRUE(read_file(dir + "/straight/checkpoint-12/model.safetensors") ==
              read_file(out + "/checkpoint-12/model.safetensors"));

  const std::string at_start = dir + "/at_start";
  fs::create_directories(at_start);
  fs::create_symlink("/dev/full", at_start + "/metrics.jsonl");
  Trainer t(cfg(at_start, {}));
  expect_error([&] { t.train(); }, {"step 0", at_start + "/metrics.jsonl", "No space left on device"});
  EXPECT_EQ(checkpoint_names(at_start), std::vector<std::string>{});
}

}  // namespace
}  // namespace tandem
