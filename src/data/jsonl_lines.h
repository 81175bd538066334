// Reading a JSONL file object by object, with the errors every reader of such files gives: a file that cannot be
// opened, a JSON array where one object per line was expected, a line that is not JSON or not an object, each
// naming the file (and line). Blank lines are skipped.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace tandem {

// Calls fn(object, "path:line") for each object in order; fn returns false to stop reading. Json is nlohmann::json
// or nlohmann::ordered_json (keys in the order written: what chat templates render, e.g. tool-call arguments).
template <typename Json>
void for_each_jsonl_object(const std::string& path,
                           const std::function<bool(const Json& object, const std::string& where)>& fn);

}  // namespace tandem
