// The one table of `tandem` subcommands: name, one-line summary, usage text and function. `tandem --help`, each
// subcommand's `--help` and the README (kept equal by a test) all read it, so they cannot disagree.
#pragma once
#include <string>
#include <vector>

namespace tandem {

struct Command {
  const char* name;
  const char* summary;  // one line
  const char* usage;    // "tandem NAME ARGS..." on the first line, then the options, one per line
  int (*run)(int argc, char** argv);
};

const std::vector<Command>& commands();
const Command* find_command(const std::string& name);

// True when argv (after the subcommand) holds --help or -h: the command then prints its usage and does nothing
// else. Checked before the command runs, so no command can create files or start work when asked for help.
bool asks_for_help(int argc, char** argv);

std::string command_help(const Command& c);  // "usage: LINE", the summary, then the option lines
std::string overview();                      // every command's usage line and summary

}  // namespace tandem
