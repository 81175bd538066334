#include "core/host_memory.h"

#include <algorithm>
#include <fstream>
#include <string>

namespace tandem {

namespace {
// The value of `key` in /proc/meminfo (reported in kB), or -1.
int64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string name, unit;
  int64_t kb = 0;
  while (in >> name >> kb) {
    std::getline(in, unit);
    if (name == key + ":") return kb * 1024;
  }
  return -1;
}

// A cgroup v2 file holding one number ("max" or missing: -1).
int64_t cgroup_number(const char* path) {
  std::ifstream in(path);
  std::string v;
  if (!(in >> v) || v == "max") return -1;
  try {
    return std::stoll(v);
  } catch (...) {
    return -1;
  }
}
}  // namespace

int64_t available_host_bytes() {
  int64_t available = meminfo_bytes("MemAvailable");
  const int64_t limit = cgroup_number("/sys/fs/cgroup/memory.max");
  const int64_t used = cgroup_number("/sys/fs/cgroup/memory.current");
  if (limit > 0 && used >= 0) {
    const int64_t room = std::max<int64_t>(limit - used, 0);
    available = available < 0 ? room : std::min(available, room);
  }
  return available;
}

}  // namespace tandem
