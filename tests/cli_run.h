// Runs the real `tandem` binary in a working folder, capturing exit status, stdout and stderr (written outside
// that folder, so a test can check that a command created nothing).
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tandem::testing {

struct CliResult {
  int status = -1;  // exit code; -1 when killed by a signal
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `args` is pasted into a shell command line after the binary; `stdin_text`, when given, is piped in.
inline CliResult run_tandem(const std::filesystem::path& cwd, const std::string& args,
                            const std::string& stdin_text = "", bool with_stdin = false) {
  const std::filesystem::path io = cwd.parent_path() / (cwd.filename().string() + ".io");
  std::filesystem::create_directories(io);
  // Built with append: GCC 12's -Wrestrict misfires on chains of "literal" + std::string temporaries.
  const std::string binary = TANDEM_BINARY;
  std::string cmd;
  cmd.append("cd '").append(cwd.string()).append("' && '").append(binary).append("' ").append(args);
  if (with_stdin) {
    std::ofstream(io / "stdin", std::ios::binary) << stdin_text;
    cmd.append(" < '").append((io / "stdin").string()).append("'");
  } else {
    cmd.append(" < /dev/null");
  }
  cmd.append(" > '").append((io / "out").string()).append("' 2> '").append((io / "err").string()).append("'");
  const int raw = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(io / "out");
  r.err = slurp(io / "err");
  return r;
}

}  // namespace tandem::testing
