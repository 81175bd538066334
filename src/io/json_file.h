// Reading a JSON file, with an error that names the file when it cannot be read or parsed.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace tandem {

nlohmann::json read_json_file(const std::string& path);

}  // namespace tandem
