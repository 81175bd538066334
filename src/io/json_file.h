// Reading JSON files, with errors that name the file (and the key, where the reader says which).
#pragma once
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/check.h"

namespace tandem {

// Deeper JSON is refused: parsing is iterative, but copying or printing a value recurses once per level, and a
// file of a million '[' would overflow the stack. Real files nest a few levels.
constexpr int kMaxJsonDepth = 128;

// The parsed file; an unreadable file, invalid JSON or nesting beyond kMaxJsonDepth is an error naming the file.
nlohmann::json read_json_file(const std::string& path);
// The same for text already in memory; `source` names it in errors.
nlohmann::json parse_json(std::string_view text, const std::string& source);

// A JSON value shortened for an error message (a hostile file may hold megabytes in one value).
std::string json_excerpt(const nlohmann::json& value);

// The JSON library's own error (a wrong type, a missing key) thrown again as an Error that names the file, the
// library's text after it.
[[noreturn]] void fail_json(const std::string& file, const nlohmann::json::exception& e);

// Runs `read`, which takes values out of the JSON of `file`: the library's type and missing-key errors inside it
// name the file. The reader's entry point wraps its body in this instead of guarding every access.
template <typename Fn>
auto naming_json_errors(const std::string& file, Fn&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    fail_json(file, e);
  }
}

// j[key] as T; a missing key, another JSON type or (for integers) a value that does not fit T is an error naming
// the file and the key. nlohmann's own get<T>() would truncate 2^40 to an int32 and 2.5 to 2 without a word.
template <typename T>
T json_get(const nlohmann::json& j, const std::string& key, const std::string& file) {
  TANDEM_CHECK(j.is_object(), file, ": expected a JSON object holding '", key, "', got ", json_excerpt(j));
  const auto it = j.find(key);
  TANDEM_CHECK(it != j.end(), file, ": missing key '", key, "'");
  const nlohmann::json& v = *it;
  if constexpr (std::is_same_v<T, std::string>) {
    TANDEM_CHECK(v.is_string(), file, ": key '", key, "' must be a string, got ", json_excerpt(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    TANDEM_CHECK(v.is_boolean(), file, ": key '", key, "' must be true or false, got ", json_excerpt(v));
  } else if constexpr (std::is_integral_v<T>) {
    constexpr T lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
    const bool fits = v.is_number_unsigned()  ? v.get<uint64_t>() <= uint64_t(hi)
                      : v.is_number_integer() ? std::is_signed_v<T> && v.get<int64_t>() >= int64_t(lo)
                                              : false;
    TANDEM_CHECK(fits, file, ": key '", key, "' must be an integer in [", +lo, ", ", +hi, "], got ", json_excerpt(v));
  } else {
    static_assert(std::is_floating_point_v<T>, "json_get reads strings, booleans, integers and floats");
    TANDEM_CHECK(v.is_number(), file, ": key '", key, "' must be a number, got ", json_excerpt(v));
  }
  return v.get<T>();
}

// The same, `fallback` when the key is absent or null.
template <typename T>
T json_get_or(const nlohmann::json& j, const std::string& key, const T& fallback, const std::string& file) {
  if (j.is_object() && (!j.contains(key) || j[key].is_null())) return fallback;
  return json_get<T>(j, key, file);
}

}  // namespace tandem
