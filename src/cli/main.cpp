// tandem: joint SFT + preference post-training for Llama-family models. Dispatch through the command table
// (cli/command_table.h); `--help` / `-h` anywhere after a command prints its usage and runs nothing.
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "cli/command_table.h"
#include "cli/commands.h"
#include "core/check.h"

int main(int argc, char** argv) {
  using namespace tandem;
  if (argc < 2) {
    std::fprintf(stderr, "%s", overview().c_str());
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    const Command* c = argc > 2 ? find_command(argv[2]) : nullptr;  // `tandem help train`
    std::printf("%s", c ? command_help(*c).c_str() : overview().c_str());
    return 0;
  }
  if (cmd == "--version") return cmd_version(0, nullptr);
  const Command* c = find_command(cmd);
  if (!c) {
    std::fprintf(stderr, "tandem: unknown command '%s'\n%s", cmd.c_str(), overview().c_str());
    return 2;
  }
  if (asks_for_help(argc - 2, argv + 2)) {
    std::printf("%s", command_help(*c).c_str());
    return 0;
  }
  try {
    return c->run(argc - 2, argv + 2);
  } catch (const std::bad_alloc&) {
    // An allocation past what the memory check foresaw (or a command without one).
    std::fprintf(stderr, "tandem %s: error: out of host memory (an allocation failed); `tandem info MODEL_DIR "
                 "--batch B --seq T` prints what a training step needs\n", cmd.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem %s: error: %s\n(tandem %s --help: usage)\n", cmd.c_str(), e.what(), cmd.c_str());
    return 1;
  }
}
