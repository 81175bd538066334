// A test hook for crash consistency. With TANDEM_CRASH_AT_SAVE_STEP=k in the environment, the process ends with
// _exit(77) right before the k-th filesystem step (write, fsync, rename, mkdir, remove) taken while a
// CrashPointScope is alive: no destructor runs and nothing more reaches the disk, as after a kill -9 at that
// point. Checkpoint saves and rotation open a scope; tests/test_crash_safety.cpp crashes a run at every k in turn.
// Without the variable, a crash point costs one comparison.
#pragma once
#include <string>

namespace tandem {

// Called by io/checked_write.h right before each step it takes.
void crash_point(const char* step, const std::string& path);

// Steps are counted only while a scope is alive (scopes nest), so k numbers the steps of saves alone.
class CrashPointScope {
 public:
  CrashPointScope();
  ~CrashPointScope();
  CrashPointScope(const CrashPointScope&) = delete;
  CrashPointScope& operator=(const CrashPointScope&) = delete;
};

}  // namespace tandem
