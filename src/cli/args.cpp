// See args.h. Messages are built only when a check fails, so the indexes in them stay in range.
#include "cli/args.h"

#include <exception>

#include "core/check.h"

namespace tandem {

namespace {
bool is_option(const std::string& a) { return a.rfind("--", 0) == 0; }
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

Args::Args(int argc, char** argv, const std::set<std::string>& known) {
  for (int i = 0; i < argc; ++i) {
    std::string key = argv[i];
    TANDEM_CHECK(is_option(key), "unexpected argument '", key, "' (options look like --name value)");
    key = key.substr(2);
    TANDEM_CHECK(known.count(key), "unknown option --", key);
    values_[key] = (i + 1 < argc && !is_option(argv[i + 1])) ? argv[++i] : "true";
  }
}

Args::Args(int argc, char** argv, const ArgSpec& spec) {
  const std::string usage = first_line(spec.usage);
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (!is_option(a)) {
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
    TANDEM_CHECK(given == required, "unexpected argument '", positionals_[required],
                 "'; usage: ", usage);
  else
    TANDEM_CHECK(given - required >= spec.rest_min, "missing ", spec.rest, "; usage: ", usage);
}

std::string Args::str(const std::string& key, const std::string& def) const {
  auto it = values_.find(key);
  return it == values_.end() ? def : it->second;
}

long long Args::integer(const std::string& key, long long def) const {
  const std::string v = str(key, std::to_string(def));
  try {
    size_t used = 0;
    const long long x = std::stoll(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  fail("option --", key, " expects an integer, got '", v, "'");
}

double Args::real(const std::string& key, double def) const {
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
