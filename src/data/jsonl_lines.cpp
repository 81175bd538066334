#include "data/jsonl_lines.h"

#include <fstream>

#include "core/check.h"
#include "data/training_text.h"

namespace tandem {

template <typename Json>
void for_each_jsonl_object(const std::string& path,
                           const std::function<bool(const Json& object, const std::string& where)>& fn) {
  std::ifstream in(path);
  TANDEM_CHECK(in, path, ": cannot open");
  std::string line;
  bool first_line_seen = false;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    if (line[first] == '[' && !first_line_seen) fail_json_array_not_jsonl(path);  // a .json list, not JSONL
    first_line_seen = true;
    const std::string where = path + ":" + std::to_string(n);
    Json j;
    try {
      j = Json::parse(line);
    } catch (const typename Json::exception& e) {
      fail(where, ": not valid JSON (", e.what(), ")");
    }
    TANDEM_CHECK(j.is_object(), where, ": each line must be a JSON object");
    if (!fn(j, where)) return;
  }
}

template void for_each_jsonl_object<nlohmann::json>(
    const std::string&, const std::function<bool(const nlohmann::json&, const std::string&)>&);
template void for_each_jsonl_object<nlohmann::ordered_json>(
    const std::string&, const std::function<bool(const nlohmann::ordered_json&, const std::string&)>&);

}  // namespace tandem
