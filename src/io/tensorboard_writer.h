// TensorBoard event files, written without TensorFlow or protobuf: a TFRecord stream of hand-encoded `Event`
// protobufs (tensorflow/core/util/event.proto, summary.proto). The file is
// <dir>/events.out.tfevents.<unix time>.<host>, as TensorBoard's glob expects; its first event carries
// file_version "brain.Event:2", every later one a Summary of scalar simple_values at one step.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) and TFRecord's masked form of it.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

class TensorBoardWriter {
 public:
  // Creates `dir` when missing and writes the file_version event. Each write is appended and closed, checked.
  explicit TensorBoardWriter(const std::string& dir);
  void add_scalars(int64_t step, double wall_time, const std::vector<std::pair<std::string, float>>& values);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::string path_;
};

}  // namespace tandem
