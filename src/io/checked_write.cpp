#include "io/checked_write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/check.h"
#include "io/crash_points.h"

namespace tandem {

namespace {

[[noreturn]] void fail_errno(const char* what, const std::string& path, int err) {
  fail("cannot ", what, " ", path, ": ", std::strerror(err));
}

// An open descriptor whose every call is checked; `what` ("write", "append to") starts its error messages.
class CheckedFd {
 public:
  CheckedFd(const std::string& path, int flags, const char* what) : path_(path), what_(what) {
    do fd_ = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) fail_errno(what_, path_, errno);
  }
  ~CheckedFd() {
    if (fd_ >= 0) ::close(fd_);  // only after an error, which is being reported already
  }
  CheckedFd(const CheckedFd&) = delete;
  CheckedFd& operator=(const CheckedFd&) = delete;

  // All of `data`, across partial writes and signals.
  void write_all(std::string_view data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail_errno(what_, path_, n < 0 ? errno : EIO);
      done += size_t(n);
    }
  }
  void sync() {
    crash_point("fsync", path_);
    if (::fsync(fd_) != 0 && errno != EINVAL) fail_errno("fsync", path_, errno);  // EINVAL: a device, nothing kept
  }
  // close(2) reports the write errors some filesystems (NFS) only find then; after EINTR the descriptor is gone.
  void close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 && errno != EINTR) fail_errno(what_, path_, errno);
  }

 private:
  int fd_ = -1;
  std::string path_;
  const char* what_;
};

}  // namespace

std::string parent_dir(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

void append_to_file(const std::string& path, std::string_view text) {
  crash_point("append", path);
  CheckedFd f(path, O_WRONLY | O_CREAT | O_APPEND, "append to");
  f.write_all(text);
  f.close();
}

void truncate_file(const std::string& path) {
  crash_point("truncate", path);
  CheckedFd(path, O_WRONLY | O_CREAT | O_TRUNC, "write").close();
}

void write_file_synced(const std::string& path, std::string_view content) {
  crash_point("write", path);
  CheckedFd f(path, O_WRONLY | O_CREAT | O_TRUNC, "write");
  f.write_all(content);
  f.sync();
  f.close();
}

void sync_file(const std::string& path) {
  CheckedFd f(path, O_RDONLY, "fsync");
  f.sync();
  f.close();
}

void sync_dir(const std::string& dir) {
  CheckedFd f(dir, O_RDONLY | O_DIRECTORY, "fsync the folder");
  f.sync();
  f.close();
}

void rename_durably(const std::string& from, const std::string& to) {
  crash_point("rename", from + " -> " + to);
  if (std::rename(from.c_str(), to.c_str()) != 0) fail("cannot rename ", from, " to ", to, ": ", std::strerror(errno));
  sync_dir(parent_dir(to));
  if (parent_dir(from) != parent_dir(to)) sync_dir(parent_dir(from));
}

void make_dir_durably(const std::string& dir) {
  crash_point("mkdir", dir);
  if (::mkdir(dir.c_str(), 0755) != 0) fail_errno("create the folder", dir, errno);
  sync_dir(parent_dir(dir));
}

void remove_tree(const std::string& path) {
  crash_point("remove", path);
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) fail("cannot remove ", path, ": ", ec.message());
}

}  // namespace tandem
