#include "io/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/check.h"
#include "io/checked_write.h"

namespace tandem {

void write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  try {
    write_file_synced(tmp, content);
    rename_durably(tmp, path);  // the new name is durable too, not only the bytes
  } catch (const Error&) {
    ::unlink(tmp.c_str());  // no half-written temporary left behind (e.g. on a full disk)
    throw;
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TANDEM_CHECK(in, "cannot open ", path, ": ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tandem
