#include "sweep/child_pool.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/check.h"

extern char** environ;

namespace tandem {

int threads_per_job(int jobs) {
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return std::max(1, int(std::max(1L, cores) / std::max(1, jobs)));
}

ChildPool::ChildPool(std::string executable, int omp_threads) : executable_(std::move(executable)) {
  for (char** e = environ; *e; ++e) env_.emplace_back(*e);
  if (!std::getenv("OMP_NUM_THREADS")) env_.push_back("OMP_NUM_THREADS=" + std::to_string(omp_threads));
}

ChildPool::~ChildPool() {
  for (const auto& [pid, _] : running_) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

pid_t ChildPool::start(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv_s = {executable_};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, executable_.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  TANDEM_CHECK(err == 0, "cannot start ", executable_, " (log ", log, "): ", std::strerror(err));
  running_[pid] = true;
  return pid;
}

ChildPool::Exit ChildPool::wait_any() {
  TANDEM_CHECK(!running_.empty(), "ChildPool::wait_any: no child is running");
  for (;;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    TANDEM_CHECK(pid > 0, "waiting for a child process: ", std::strerror(errno));
    if (!running_.erase(pid)) continue;  // not one of ours (none are expected)
    Exit e;
    e.pid = pid;
    e.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    e.how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                              : "killed by signal " + std::to_string(WTERMSIG(status));
    return e;
  }
}

}  // namespace tandem
