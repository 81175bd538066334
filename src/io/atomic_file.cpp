#include "io/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/check.h"
#include "io/checked_write.h"
#include "io/crash_points.h"

namespace tandem {

void write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  try {
    write_file_synced(tmp, content);
  } catch (const Error&) {
    ::unlink(tmp.c_str());  // no half-written temporary left behind (e.g. on a full disk)
    throw;
  }
  crash_point("rename", tmp + " -> " + path);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("cannot write ", path, ": ", std::strerror(err));
  }
  sync_dir(parent_dir(path));  // the new name is durable too, not only the bytes
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TANDEM_CHECK(in, "cannot open ", path, ": ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tandem
