#include "io/json_file.h"

#include "io/atomic_file.h"

namespace tandem {

namespace {
// The deepest nesting of brackets outside strings: a scan costs a fraction of a parse with a depth callback.
int json_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}
}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& source) {
  TANDEM_CHECK(json_depth(text) <= kMaxJsonDepth, source, ": JSON nested deeper than ", kMaxJsonDepth, " levels");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": not valid JSON: ", e.what());
  }
}

nlohmann::json read_json_file(const std::string& path) { return parse_json(read_file(path), path); }

std::string json_excerpt(const nlohmann::json& value) {
  constexpr size_t kMax = 80;
  std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

void fail_json(const std::string& file, const nlohmann::json::exception& e) { fail(file, ": ", e.what()); }

}  // namespace tandem
