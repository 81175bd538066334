// safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then
// the raw bytes. The reader maps the file and validates everything before any tensor is touched (the rules are in
// io/safetensors_header.h), so a corrupt, truncated or hostile file is an error naming the file and the tensor,
// never a crash.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tandem {

enum class Dtype { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };
const char* dtype_name(Dtype d);
int64_t dtype_size(Dtype d);
// The dtype the header spells `name` ("F32", "BF16", ...); false when Tandem does not know it.
bool dtype_from_name(const std::string& name, Dtype& out);

class SafetensorsFile {
 public:
  struct Entry {
    Dtype dtype;
    Shape shape;
    int64_t begin = 0, end = 0;  // byte offsets into the data section
  };

  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  std::vector<std::string> names() const;
  const Entry& entry(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Any float dtype converted to fp32; the result is named `name`. A NaN or inf (or an f64 value beyond fp32's
  // range) is an error naming the tensor, its count and the first one: weights and optimizer moments come
  // through here, and a non-finite value would only surface steps later as a NaN loss.
  Tensor load(const std::string& name) const;
  // Integer tensors (token ids, lengths, masks) as int32; a value outside int32 is an error.
  std::vector<int32_t> load_ints(const std::string& name) const;

 private:
  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes fp32 tensors (or bf16 when `bf16` is set) atomically: a temp file in the same folder, then rename.
void save_safetensors(const std::string& path, const std::vector<const Tensor*>& tensors,
                      const std::map<std::string, std::string>& metadata = {}, bool bf16 = false);

float f16_to_float(uint16_t v);

}  // namespace tandem
