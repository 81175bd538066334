#include "io/crash_points.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace tandem {

namespace {

int scopes = 0;
long long steps_taken = 0;

long long crash_step() {
  static const long long k = [] {
    const char* v = std::getenv("TANDEM_CRASH_AT_SAVE_STEP");
    return v ? std::atoll(v) : 0LL;
  }();
  return k;
}

}  // namespace

void crash_point(const char* step, const std::string& path) {
  if (scopes == 0 || crash_step() <= 0) return;
  if (++steps_taken < crash_step()) return;
  // stderr is unbuffered: the line is out before the process is.
  std::fprintf(stderr, "crash test: exiting before save step %lld: %s %s\n", steps_taken, step, path.c_str());
  _exit(77);
}

CrashPointScope::CrashPointScope() { ++scopes; }
CrashPointScope::~CrashPointScope() { --scopes; }

}  // namespace tandem
