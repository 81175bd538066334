// The header of a safetensors file, checked as strictly as the reference reader (huggingface/safetensors,
// Metadata::validate): a header length of at most 100 MB inside the file, a JSON object of tensors with known
// dtypes, shapes whose byte size (checked multiplication, overflow is an error) equals their data_offsets range,
// and tensors that, sorted by offset, tile the data section exactly: no overlap, no gap, nothing after the last.
// "__metadata__" maps strings to strings. Every error names the file and the tensor.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "io/safetensors.h"

namespace tandem {

struct SafetensorsHeader {
  uint64_t data_start = 0;  // byte offset of the data section in the file
  std::map<std::string, SafetensorsFile::Entry> entries;
  std::map<std::string, std::string> metadata;
};

// Reads the header of the `size` bytes at `file` (the whole file, mapped), named `path` in errors.
SafetensorsHeader read_safetensors_header(const uint8_t* file, size_t size, const std::string& path);

}  // namespace tandem
