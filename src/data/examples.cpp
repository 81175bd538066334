#include "data/examples.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/check.h"

namespace tandem {

namespace {

std::vector<int32_t> ids_field(const nlohmann::json& j, const char* key, const std::string& where, bool may_be_empty) {
  TANDEM_CHECK(j.contains(key), where, ": missing field \"", key, "\"");
  const auto& v = j[key];
  TANDEM_CHECK(v.is_array(), where, ": field \"", key, "\" must be an array of token ids");
  std::vector<int32_t> out;
  out.reserve(v.size());
  for (const auto& x : v) {
    TANDEM_CHECK(x.is_number_integer() && x.get<int64_t>() >= 0 && x.get<int64_t>() < (int64_t{1} << 31), where,
                 ": field \"", key, "\" holds ", x.dump(), ", not a token id");
    out.push_back(x.get<int32_t>());
  }
  TANDEM_CHECK(may_be_empty || !out.empty(), where, ": field \"", key, "\" is empty");
  return out;
}

// Calls fn(json, "file:line") for each non-blank line.
template <typename Fn>
void for_each_line(const std::string& path, Fn&& fn) {
  std::ifstream in(path);
  TANDEM_CHECK(in, path, ": cannot open");
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(where, ": not valid JSON (", e.what(), ")");
    }
    TANDEM_CHECK(j.is_object(), where, ": each line must be a JSON object");
    fn(j, where);
  }
}

}  // namespace

std::vector<SftExample> load_sft_jsonl(const std::string& path) {
  std::vector<SftExample> out;
  for_each_line(path, [&](const nlohmann::json& j, const std::string& where) {
    out.push_back({ids_field(j, "prompt_ids", where, true), ids_field(j, "completion_ids", where, false)});
  });
  TANDEM_CHECK(!out.empty(), path, ": no examples");
  return out;
}

std::vector<PreferenceExample> load_preference_jsonl(const std::string& path) {
  std::vector<PreferenceExample> out;
  for_each_line(path, [&](const nlohmann::json& j, const std::string& where) {
    out.push_back({ids_field(j, "prompt_ids", where, true), ids_field(j, "chosen_ids", where, false),
                   ids_field(j, "rejected_ids", where, false)});
  });
  TANDEM_CHECK(!out.empty(), path, ": no examples");
  return out;
}

uint64_t dataset_hash(const std::vector<PreferenceExample>& data) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](int64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= uint64_t(v >> (8 * i)) & 0xff;
      h *= 1099511628211ULL;
    }
  };
  for (const auto& e : data)
    for (const auto* part : {&e.prompt, &e.chosen, &e.rejected}) {
      mix(int64_t(part->size()));
      for (int32_t t : *part) mix(t);
    }
  return h;
}

}  // namespace tandem
