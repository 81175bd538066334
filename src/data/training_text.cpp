#include "data/training_text.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/check.h"
#include "io/atomic_file.h"

namespace tandem {

namespace {
std::string first_nonblank_line(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
  return "";
}

bool looks_like_jsonl(const std::string& path, const std::string& text) {
  if (path.ends_with(".jsonl")) return true;
  const nlohmann::json j = nlohmann::json::parse(first_nonblank_line(text), nullptr, /*allow_exceptions=*/false);
  return j.is_object();
}

bool starts_with_bracket(const std::string& text) {
  const size_t at = text.find_first_not_of(" \t\r\n");
  return at != std::string::npos && text[at] == '[';
}
}  // namespace

void fail_json_array_not_jsonl(const std::string& path) {
  fail(path, ": expected JSONL (one object per line), but the file starts with '[' like a JSON array; convert it "
             "with: jq -c '.[]' FILE.json > FILE.jsonl");
}

std::vector<std::string> tokenizer_training_texts(const std::vector<std::string>& files,
                                                  const std::string& text_field) {
  std::vector<std::string> out;
  for (const auto& path : files) {
    const std::string text = read_file(path);
    std::istringstream in(text);
    if (text_field.empty()) {
      TANDEM_CHECK(!looks_like_jsonl(path, text), path,
                   ": this is JSONL; a tokenizer trained on it would learn JSON syntax. Pass --text-field NAME to "
                   "learn from that field of each line");
      for (std::string line; std::getline(in, line);) out.push_back(line + "\n");
      continue;
    }
    if (starts_with_bracket(text)) fail_json_array_not_jsonl(path);
    int64_t n = 0;
    for (std::string line; std::getline(in, line);) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = path + ":" + std::to_string(n);
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      TANDEM_CHECK(j.is_object(), where, ": expected JSONL (one object per line)");
      TANDEM_CHECK(j.contains(text_field) && j[text_field].is_string(), where, ": --text-field \"", text_field,
                   "\" is missing or not a string");
      out.push_back(j[text_field].get<std::string>() + "\n");  // one document per line, as in a text file
    }
  }
  return out;
}

}  // namespace tandem
