#include <cstdio>

#include "cli/args.h"
#include "cli/command_table.h"
#include "cli/commands.h"
#include "data/toy_task.h"

namespace tandem {

int cmd_toy_task(int argc, char** argv) {
  const Args args(ArgSpec{.usage = find_command("toy-task")->usage, .options = {"examples", "seed"},
                          .positionals = {"DIR"}}, argc, argv);
  const std::string& dir = args.positionals()[0];
  ToyTaskOptions o;
  o.examples = args.integer("examples", o.examples);
  o.seed = uint64_t(args.integer("seed", 0));
  write_toy_task(dir, o);
  std::printf("wrote the reverse-vs-copy toy task to %s; train with: tandem train %s/train.toml\n", dir.c_str(),
              dir.c_str());
  return 0;
}

}  // namespace tandem
