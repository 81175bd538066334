// The CLI's help and version, through the real binary: every subcommand answers --help and -h with its usage and
// exit code 0 without creating anything; unknown options stay errors; --version names version, commit, compiler
// and precisions; the README lists every subcommand's usage line as the command table has it.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>

#include "cli_run.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::run_tandem;

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("tandem_cli_help_" + name);
  fs::remove_all(d);
  fs::remove_all(d.string() + ".io");
  fs::create_directories(d);
  return d;
}

bool empty_dir(const fs::path& d) { return fs::is_empty(d); }

// The subcommands and their usage lines as `tandem --help` lists them ("  tandem NAME ...").
std::vector<std::pair<std::string, std::string>> listed_commands() {
  const fs::path d = fresh_dir("list");
  const auto r = run_tandem(d, "--help");
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(r.out);
  const std::regex line(R"(^  tandem ([a-z-]+)(.*)$)");
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line) && m[1] != "--version") out.push_back({m[1], l.substr(2)});
  }
  return out;
}

TEST(CliHelp, EveryCommandPrintsUsageAndDoesNothingElse) {
  const auto commands = listed_commands();
  std::set<std::string> names;
  for (const auto& [name, usage] : commands) names.insert(name);
  for (const char* expected : {"train", "eval", "sweep", "demo", "report", "toy-task", "overfit", "merge-lora",
                               "train-tokenizer", "tokenize", "chat-template", "info", "inspect-data", "generate",
                               "chat", "version"})
    EXPECT_TRUE(names.count(expected)) << expected << " is not listed by tandem --help";
  for (const auto& [name, usage] : commands) {
    // With and without arguments before it: `tandem sweep CONFIG --help` must not start a sweep either.
    for (const std::string& args : std::vector<std::string>{name + " --help", name + " -h", name + " missing.toml --out x --help"}) {
      const fs::path d = fresh_dir("cmd");
      const auto r = run_tandem(d, args);
      EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
      EXPECT_EQ(r.out.rfind("usage: tandem " + name, 0), 0u) << args << " printed:\n" << r.out;
      EXPECT_GT(r.out.size(), 20u + name.size()) << args;
      EXPECT_TRUE(empty_dir(d)) << args << " created files in its working folder";
    }
  }
  const fs::path d = fresh_dir("help_cmd");
  const auto r = run_tandem(d, "help generate");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--max-new-tokens"), std::string::npos) << r.out;
}

TEST(CliHelp, UnknownOptionsAndCommandsStayErrors) {
  for (const std::string& args : std::vector<std::string>{"overfit --bogus 1", "toy-task out --bogus", "inspect-data c.toml --bogus",
                                 "generate model --bogus", "train-tokenizer --bogus x", "no-such-command"}) {
    const fs::path d = fresh_dir("bad");
    const auto r = run_tandem(d, args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_TRUE(r.err.find("--bogus") != std::string::npos || r.err.find("unknown command") != std::string::npos)
        << args << ": " << r.err;
    EXPECT_TRUE(empty_dir(d)) << args << " created files";
  }
}

TEST(CliHelp, MissingOrExtraPositionalArgumentsNameTheCommandsUsage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"inspect-data", "missing CONFIG.toml"},        {"inspect-data --ids", "missing CONFIG.toml"},
      {"toy-task", "missing DIR"},                    {"toy-task out extra", "unexpected argument 'extra'"},
      {"train-tokenizer --out t.json", "missing TEXT"}, {"chat", "missing MODEL_DIR"},
      {"generate m --prompt", "--prompt needs a value"}, {"inspect-data c.toml --n", "--n needs a value"}};
  for (const auto& [args, needle] : cases) {
    const fs::path d = fresh_dir("positional");
    const auto r = run_tandem(d, args);
    const std::string name = args.substr(0, args.find(' '));
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(needle + "; usage: tandem " + name + " "), std::string::npos) << args << ": " << r.err;
    EXPECT_TRUE(empty_dir(d)) << args << " created files";
  }
  // A switch takes no value, so the positional after it is still the config file (here one that does not exist).
  const auto r = run_tandem(fresh_dir("switch"), "inspect-data --ids absent.toml --n 1 lr=0.1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("absent.toml"), std::string::npos) << r.err;
}

TEST(CliHelp, VersionNamesVersionCommitCompilerAndPrecisions) {
  const fs::path d = fresh_dir("version");
  const auto a = run_tandem(d, "--version"), b = run_tandem(d, "version");
  EXPECT_EQ(a.status, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_TRUE(std::regex_search(a.out, std::regex(R"(^tandem [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]+|unknown)\))")))
      << a.out;
  for (const char* part : {"compiler: ", "backends: cpu", "fp32", "bf16"})
    EXPECT_NE(a.out.find(part), std::string::npos) << part << " missing in:\n" << a.out;
}

TEST(CliHelp, ReadmeListsEveryCommandsUsageLine) {
  const std::string readme = testing::slurp(fs::path(TANDEM_HF_DIR) / ".." / ".." / "README.md");
  ASSERT_FALSE(readme.empty());
  for (const auto& [name, usage] : listed_commands())
    EXPECT_NE(readme.find(usage), std::string::npos) << "README.md lacks the usage line of " << name << ":\n" << usage;
}

}  // namespace
}  // namespace tandem
