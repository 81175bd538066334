// Argument parsing for the subcommands: "--key value" options, "--flag" switches and positional arguments. An
// unknown option, an option without its value, a missing or an extra positional argument is an error that quotes
// the command's usage line.
#pragma once
#include <exception>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/check.h"

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
  Args(const ArgSpec& spec, int argc, char** argv);

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

// Definitions: header-only, as the benchmarks include it too. Messages are built only when a check fails, so the
// indexes in them stay in range.
namespace args_detail {
inline bool is_option(const std::string& a) { return a.rfind("--", 0) == 0; }
inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace args_detail

inline Args::Args(int argc, char** argv, const std::set<std::string>& known) {
  for (int i = 0; i < argc; ++i) {
    std::string key = argv[i];
    TANDEM_CHECK(args_detail::is_option(key), "unexpected argument '", key, "' (options look like --name value)");
    key = key.substr(2);
    TANDEM_CHECK(known.count(key), "unknown option --", key);
    values_[key] = (i + 1 < argc && !args_detail::is_option(argv[i + 1])) ? argv[++i] : "true";
  }
}

inline Args::Args(const ArgSpec& spec, int argc, char** argv) {
  const std::string usage = args_detail::first_line(spec.usage);
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (!args_detail::is_option(a)) {
      positionals_.push_back(a);
      continue;
    }
    const std::string key = a.substr(2);
    if (spec.flags.count(key)) {
      values_[key] = "true";
    } else {
      TANDEM_CHECK(spec.options.count(key), "unknown option ", a, "; usage: ", usage);
      TANDEM_CHECK(i + 1 < argc, a, " needs a value; usage: ", usage);
      values_[key] = argv[++i];
    }
  }
  const size_t required = spec.positionals.size(), given = positionals_.size();
  TANDEM_CHECK(given >= required, "missing ", spec.positionals[given], "; usage: ", usage);
  if (spec.rest.empty())
    TANDEM_CHECK(given == required, "unexpected argument '", positionals_[required], "'; usage: ", usage);
  else
    TANDEM_CHECK(given - required >= spec.rest_min, "missing ", spec.rest, "; usage: ", usage);
}

inline std::string Args::str(const std::string& key, const std::string& def) const {
  auto it = values_.find(key);
  return it == values_.end() ? def : it->second;
}

inline long long Args::integer(const std::string& key, long long def) const {
  const std::string v = str(key, std::to_string(def));
  try {
    size_t used = 0;
    const long long x = std::stoll(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  fail("option --", key, " expects an integer, got '", v, "'");
}

inline double Args::real(const std::string& key, double def) const {
  const std::string v = str(key, "");
  if (v.empty()) return def;
  try {
    size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  fail("option --", key, " expects a number, got '", v, "'");
}

}  // namespace tandem
