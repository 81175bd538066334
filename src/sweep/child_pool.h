// Child processes of a sweep: `tandem train` runs started with posix_spawn, each with its stdout and stderr in a
// log file, and waited for in whatever order they end.
#pragma once
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace tandem {

class ChildPool {
 public:
  // executable: the program every child runs; omp_threads: OMP_NUM_THREADS for each child unless the
  // environment already sets it (the user's choice wins).
  ChildPool(std::string executable, int omp_threads);
  ChildPool(const ChildPool&) = delete;
  ChildPool& operator=(const ChildPool&) = delete;
  ~ChildPool();  // waits for children still running (never leaves zombies)

  // Starts `executable args...` with output to `log` (created or truncated); returns the child's id.
  pid_t start(const std::vector<std::string>& args, const std::string& log);

  struct Exit {
    pid_t pid = -1;
    bool ok = false;    // exit status 0
    std::string how;    // "exit status 3", "killed by signal 9"
  };
  Exit wait_any();  // blocks until one of this pool's children ends; needs running() > 0
  size_t running() const { return running_.size(); }

 private:
  std::string executable_;
  std::vector<std::string> env_;  // the child environment, "KEY=value"
  std::map<pid_t, bool> running_;
};

// max(1, cores / jobs): the cores shared out between side-by-side runs.
int threads_per_job(int jobs);

}  // namespace tandem
