// tandem: joint SFT + preference post-training for Llama-family models. Dispatch through the command table
// (cli/command_table.h); `--help` / `-h` anywhere after a command prints its usage and runs nothing.
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "cli/command_table.h"
#include "cli/commands.h"
#include "core/check.h"
#include "dist/comm.h"

namespace {

// Under mpirun: an error every rank raised together is printed once (by rank 0) and every rank exits; an error of
// one rank is printed with its rank and stops the others, which would otherwise wait for it forever.
int fail_rank(const std::string& cmd, const std::string& message, bool collective) {
  tandem::Comm& w = tandem::world();
  if (w.size() == 1) {
    std::fprintf(stderr, "tandem %s: error: %s\n(tandem %s --help: usage)\n", cmd.c_str(), message.c_str(),
                 cmd.c_str());
    return 1;
  }
  if (collective) {
    if (w.rank() == 0) std::fprintf(stderr, "tandem %s: error: %s\n", cmd.c_str(), message.c_str());
    tandem::finalize_world();
    return 1;
  }
  std::fprintf(stderr, "tandem %s: error on rank %d of %d: %s\n(stopping every rank)\n", cmd.c_str(), w.rank(),
               w.size(), message.c_str());
  w.abort(1);
  return 1;  // not reached
}

}  // namespace

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
    connect_launched_ranks(&argc, &argv);
    if (world().size() > 1 && cmd != "train")
      throw CollectiveError("tandem " + cmd + " runs as one process; only tandem train runs data-parallel under "
                            "mpirun");
    const int rc = c->run(argc - 2, argv + 2);
    finalize_world();
    return rc;
  } catch (const std::bad_alloc&) {
    // An allocation past what the memory check foresaw (or a command without one).
    return fail_rank(cmd, "out of host memory (an allocation failed); `tandem info MODEL_DIR --batch B --seq T` "
                     "prints what a training step needs", false);
  } catch (const CollectiveError& e) {
    return fail_rank(cmd, e.what(), true);
  } catch (const std::exception& e) {
    return fail_rank(cmd, e.what(), false);
  }
}
