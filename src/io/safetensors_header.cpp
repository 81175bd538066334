#include "io/safetensors_header.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#include "core/check.h"
#include "io/json_file.h"

namespace tandem {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's MAX_HEADER_SIZE
constexpr uint64_t kMaxInt64 = uint64_t(std::numeric_limits<int64_t>::max());

bool is_size(const nlohmann::json& v) { return v.is_number_unsigned(); }  // a non-negative integer that fits uint64

// a * b, or false when it does not fit in int64 (offsets and sizes become int64 byte counts later).
bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) {
  return !__builtin_mul_overflow(a, b, &out) && out <= kMaxInt64;
}

std::map<std::string, std::string> read_metadata(const nlohmann::json& info, const std::string& path) {
  std::map<std::string, std::string> out;
  if (info.is_null()) return out;
  TANDEM_CHECK(info.is_object(), path, ": __metadata__ must be an object of strings, got ", json_excerpt(info));
  for (const auto& [key, value] : info.items()) {
    TANDEM_CHECK(value.is_string(), path, ": __metadata__ key '", key, "' must be a string, got ", json_excerpt(value));
    out[key] = value.get<std::string>();
  }
  return out;
}

SafetensorsFile::Entry read_entry(const nlohmann::json& info, uint64_t data_size, const std::string& where) {
  TANDEM_CHECK(info.is_object() && info.contains("dtype") && info.contains("shape") && info.contains("data_offsets"),
               where, ": needs dtype, shape and data_offsets");
  SafetensorsFile::Entry e;
  const auto& dtype = info["dtype"];
  TANDEM_CHECK(dtype.is_string(), where, ": dtype must be a string, got ", json_excerpt(dtype));
  TANDEM_CHECK(dtype_from_name(dtype.get<std::string>(), e.dtype), where, ": unsupported dtype '",
               dtype.get<std::string>(), "' (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");

  const auto& shape = info["shape"];
  TANDEM_CHECK(shape.is_array(), where, ": shape must be an array, got ", json_excerpt(shape));
  uint64_t numel = 1;
  for (const auto& d : shape) {
    TANDEM_CHECK(is_size(d), where, ": shape ", json_excerpt(shape), " has a dimension that is not an integer >= 0");
    TANDEM_CHECK(checked_mul(numel, d.get<uint64_t>(), numel), where, ": shape ", json_excerpt(shape),
                 " has more elements than fit in 64 bits");
    e.shape.push_back(int64_t(d.get<uint64_t>()));
  }
  uint64_t bytes = 0;
  TANDEM_CHECK(checked_mul(numel, uint64_t(dtype_size(e.dtype)), bytes), where, ": shape ", json_excerpt(shape),
               " of ", dtype_name(e.dtype), " has more bytes than fit in 64 bits");

  const auto& off = info["data_offsets"];
  TANDEM_CHECK(off.is_array() && off.size() == 2 && is_size(off[0]) && is_size(off[1]), where,
               ": data_offsets must be [begin, end] of non-negative integers, got ", json_excerpt(off));
  const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
  TANDEM_CHECK(begin <= end, where, ": data_offsets [", begin, ", ", end, "] end before they begin");
  TANDEM_CHECK(end <= data_size, where, ": data_offsets [", begin, ", ", end, "] fall outside the ", data_size,
               "-byte data section (truncated file?)");
  TANDEM_CHECK(end - begin == bytes, where, ": ", end - begin, " bytes do not hold shape ", shape_str(e.shape),
               " of ", dtype_name(e.dtype), " (", bytes, " bytes)");
  e.begin = int64_t(begin);
  e.end = int64_t(end);
  return e;
}

// Sorted by offset, each tensor begins where the previous one ended and the last ends at the end of the data: a
// byte belongs to exactly one tensor, as the reference reader requires.
void check_tiling(const std::map<std::string, SafetensorsFile::Entry>& entries, uint64_t data_size,
                  const std::string& path) {
  std::vector<std::pair<const std::string*, const SafetensorsFile::Entry*>> order;
  for (const auto& [name, e] : entries) order.emplace_back(&name, &e);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second->begin, a.second->end) < std::pair(b.second->begin, b.second->end);
  });
  int64_t covered = 0;
  const std::string* previous = nullptr;
  for (const auto& [name, e] : order) {
    const std::string where = path + ": tensor " + *name + ": data_offsets [" + std::to_string(e->begin) + ", " +
                              std::to_string(e->end) + "]";
    if (previous) {
      TANDEM_CHECK(e->begin >= covered, where, " overlap tensor ", *previous, ", which ends at byte ", covered);
      TANDEM_CHECK(e->begin == covered, where, " leave a gap of ", e->begin - covered, " bytes after tensor ",
                   *previous, ", which ends at byte ", covered);
    } else {
      TANDEM_CHECK(e->begin == 0, where, " leave a gap: the first ", e->begin, " data bytes belong to no tensor");
    }
    covered = e->end;
    previous = name;
  }
  TANDEM_CHECK(uint64_t(covered) == data_size, path, ": the tensors cover ", covered, " bytes of the ", data_size,
               "-byte data section; the ", data_size - uint64_t(covered), " bytes after them belong to no tensor");
}

}  // namespace

SafetensorsHeader read_safetensors_header(const uint8_t* file, size_t size, const std::string& path) {
  TANDEM_CHECK(size >= 8, path, ": not a safetensors file (", size, " bytes, shorter than the 8-byte header length)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, file, 8);  // little-endian on every platform Tandem builds for
  TANDEM_CHECK(header_len <= kMaxHeaderBytes, path, ": header length ", header_len, " exceeds the limit of ",
               kMaxHeaderBytes, " bytes (corrupt or not safetensors)");
  TANDEM_CHECK(header_len <= size - 8, path, ": header length ", header_len, " exceeds the file size ", size,
               " (truncated or not safetensors)");
  SafetensorsHeader h;
  h.data_start = 8 + header_len;
  const uint64_t data_size = size - h.data_start;

  const nlohmann::json header =
      parse_json(std::string_view(reinterpret_cast<const char*>(file) + 8, header_len), path + " header");
  TANDEM_CHECK(header.is_object(), path, ": header must be a JSON object, got ", json_excerpt(header));
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__")
      h.metadata = read_metadata(info, path);
    else
      h.entries[name] = read_entry(info, data_size, path + ": tensor " + name);
  }
  check_tiling(h.entries, data_size, path);
  return h;
}

}  // namespace tandem
