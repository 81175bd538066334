// Element types a tensor can be stored in, and the devices that can hold it. Storage type is separate from compute
// type: kernels read any storage type and accumulate in f32 (f64 for the gradient-check path).
#pragma once
#include <cstdint>

namespace tandem {

enum class DType : uint8_t { kF32, kBF16, kF64, kI32 };
enum class Device : uint8_t { kCpu, kCuda };

constexpr int64_t dtype_bytes(DType t) {
  switch (t) {
    case DType::kBF16: return 2;
    case DType::kF64: return 8;
    default: return 4;
  }
}
const char* dtype_str(DType t);    // "f32", "bf16", "f64", "i32"
const char* device_str(Device d);  // "cpu", "cuda"

}  // namespace tandem
