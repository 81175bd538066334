#include "io/tensorboard_writer.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/check.h"
#include "io/checked_write.h"

namespace tandem {

namespace {

// Protobuf wire format: a field's key is (number << 3) | wire type; 0 varint, 1 fixed64, 2 bytes, 5 fixed32.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}
template <typename T>
void put_little_endian(std::string& out, T v) {  // fixed-width fields and the TFRecord framing are little-endian
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(char(uint8_t(v >> (8 * i))));
}
void put_key(std::string& out, int field, int wire_type) { put_varint(out, uint64_t(field) << 3 | uint64_t(wire_type)); }
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_double(std::string& out, int field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  put_key(out, field, 1);
  put_little_endian(out, bits);
}
void put_float(std::string& out, int field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  put_key(out, field, 5);
  put_little_endian(out, bits);
}

// Event { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3; Summary summary = 5; } }
std::string event_header(double wall_time, int64_t step) {
  std::string e;
  put_double(e, 1, wall_time);
  put_key(e, 2, 0);
  put_varint(e, uint64_t(step));  // int64 is a plain (not zigzag) varint; steps are >= 0
  return e;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;  // TFRecord's mask (tensorflow/core/lib/hash/crc32c.h)
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TANDEM_CHECK(!ec, "cannot create the TensorBoard folder ", dir, ": ", ec.message());
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const double wall_time = std::chrono::duration<double>(now).count();
  path_ = dir + "/events.out.tfevents." + std::to_string(int64_t(wall_time)) + "." + host_name();
  if (std::filesystem::exists(path_)) {  // a second run in the same second
    path_ += '.';  // (appended in two steps: GCC 12 warns falsely on "." + to_string)
    path_ += std::to_string(getpid());
  }
  truncate_file(path_);
  std::string e = event_header(wall_time, 0);
  put_bytes(e, 3, "brain.Event:2");
  write_record(e);
}

void TensorBoardWriter::add_scalars(int64_t step, double wall_time,
                                    const std::vector<std::pair<std::string, float>>& values) {
  std::string summary;  // Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
  for (const auto& [tag, value] : values) {
    std::string v;
    put_bytes(v, 1, tag);
    put_float(v, 2, value);
    put_bytes(summary, 1, v);
  }
  std::string e = event_header(wall_time, step);
  put_bytes(e, 5, summary);
  write_record(e);
}

// TFRecord: uint64 length, masked CRC of those 8 bytes, the data, masked CRC of the data.
void TensorBoardWriter::write_record(const std::string& event) {
  std::string length;
  put_little_endian(length, uint64_t(event.size()));
  std::string record = length;
  put_little_endian(record, masked_crc32c(length.data(), length.size()));
  record += event;
  put_little_endian(record, masked_crc32c(event.data(), event.size()));
  append_to_file(path_, record);
}

}  // namespace tandem
