// Argument parsing for the subcommands: "--key value" options, "--flag" switches and positional arguments. An
// unknown option, an option without its value, a missing or an extra positional argument is an error that quotes
// the command's usage line.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace tandem {

// What one command accepts; written with designated initializers, so every member has a default (" = {}" keeps
// -Wmissing-field-initializers quiet about the ones a command leaves out).
struct ArgSpec {
  std::string usage = {};                     // the command's usage (its first line is quoted by the errors)
  std::set<std::string> options = {};         // --name VALUE (names without dashes)
  std::set<std::string> flags = {};           // --name alone
  std::vector<std::string> positionals = {};  // required, in order, as the usage names them ("CONFIG.toml")
  std::string rest = {};                      // the positionals that may follow ("TEXT"); "": none may
  size_t rest_min = 0;                        // how many of those are required
};

class Args {
 public:
  // argv after the subcommand, options only: `known` lists the accepted keys; a key followed by an argument that
  // is not an option takes it as its value, else it is a switch ("true").
  Args(int argc, char** argv, const std::set<std::string>& known);
  // argv after the subcommand, as `spec` says. Options and positionals may come in any order.
  Args(int argc, char** argv, const ArgSpec& spec);

  std::string str(const std::string& key, const std::string& def) const;
  long long integer(const std::string& key, long long def) const;
  double real(const std::string& key, double def) const;
  bool has(const std::string& key) const { return values_.count(key) != 0; }  // given at all (a --flag: set)
  // The required positionals, then the rest, in the order given.
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
};

}  // namespace tandem
