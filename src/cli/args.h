// Minimal "--key value" / "--flag" argument parsing for the subcommands; unknown keys are errors.
#pragma once
#include <map>
#include <set>
#include <string>

#include "core/check.h"

namespace tandem {

class Args {
 public:
  // argv after the subcommand. `known` lists accepted keys (without dashes).
  Args(int argc, char** argv, const std::set<std::string>& known) {
    for (int i = 0; i < argc; ++i) {
      std::string key = argv[i];
      TANDEM_CHECK(key.rfind("--", 0) == 0, "unexpected argument '", key, "' (options look like --name value)");
      key = key.substr(2);
      TANDEM_CHECK(known.count(key), "unknown option --", key);
      values_[key] = (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) ? argv[++i] : "true";
    }
  }
  std::string str(const std::string& key, const std::string& def) const {
    auto it = values_.find(key);
    return it == values_.end() ? def : it->second;
  }
  long long integer(const std::string& key, long long def) const {
    const std::string v = str(key, std::to_string(def));
    try {
      size_t used = 0;
      const long long x = std::stoll(v, &used);
      if (used == v.size()) return x;
    } catch (const std::exception&) {
    }
    fail("option --", key, " expects an integer, got '", v, "'");
  }
  double real(const std::string& key, double def) const {
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

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace tandem
