// Where tensor bytes live. A device's allocator owns its memory and moves bytes within the device and to and
// from the host; a backend (backends/backend.h) is an allocator plus the ops. Tensors keep a pointer to the
// allocator that made them, so copying, downloading or freeing a tensor needs no knowledge of the device.
#pragma once
#include <cstddef>

#include "core/dtype.h"

namespace tandem {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual Device device() const = 0;
  virtual void* alloc(size_t bytes) = 0;  // zero-filled
  virtual void free(void* ptr) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // both on this device
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void fill_zero(void* ptr, size_t bytes) = 0;
};

// Page-aligned host memory (the CPU backend's device memory too).
Allocator& host_allocator();

}  // namespace tandem
