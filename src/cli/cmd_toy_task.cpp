#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "data/toy_task.h"

namespace tandem {

int cmd_toy_task(int argc, char** argv) {
  TANDEM_CHECK(argc >= 1 && std::string(argv[0]).rfind("--", 0) != 0,
               "usage: tandem toy-task DIR [--examples N] [--seed S]");
  const Args args(argc - 1, argv + 1, {"examples", "seed"});
  ToyTaskOptions o;
  o.examples = args.integer("examples", o.examples);
  o.seed = uint64_t(args.integer("seed", 0));
  write_toy_task(argv[0], o);
  std::printf("wrote the reverse-vs-copy toy task to %s; train with: tandem train %s/train.toml\n", argv[0], argv[0]);
  return 0;
}

}  // namespace tandem
