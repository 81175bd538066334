// A named, contiguous, row-major tensor: shape, element type, and bytes owned on one device.
// Kernels take pointers and sizes; Tensor carries names, shapes and dtypes so that a wrong shape or type is
// reported with the tensor's name. Copying a tensor copies its bytes on its device (no aliasing).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/bf16.h"
#include "core/dtype.h"
#include "core/memory.h"

namespace tandem {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::kF32; }
template <>
constexpr DType dtype_of<double>() { return DType::kF64; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::kI32; }
template <>
constexpr DType dtype_of<bf16>() { return DType::kBF16; }

class Tensor {
 public:
  std::string name;
  Shape shape;

  Tensor() = default;
  // Zero-initialised, on the host unless an allocator is given.
  Tensor(std::string name, Shape shape, DType dtype = DType::kF32, Allocator* alloc = nullptr);
  // A tensor over bytes [byte_offset, +size) of `block` (on its device), which it does not own: the block must
  // outlive it. How one allocation holds many tensors (the model's activations). Copies of a view own their bytes.
  static Tensor view(std::string name, Shape shape, DType dtype, Tensor& block, int64_t byte_offset);
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  ~Tensor();

  DType dtype() const { return dtype_; }
  Device device() const { return alloc_ ? alloc_->device() : Device::kCpu; }
  Allocator* allocator() const { return alloc_; }
  int64_t numel() const { return numel_; }
  int64_t bytes() const { return numel_ * dtype_bytes(dtype_); }
  int64_t dim(int i) const;  // negative i counts from the end
  bool empty() const { return numel_ == 0; }
  void zero();

  // Raw device pointer, whatever the dtype (for backends).
  void* raw() { return data_; }
  const void* raw() const { return data_; }
  // Typed host pointer: throws "tensor <name>: is bf16 on cuda, expected f32 on cpu" on a mismatch.
  template <typename T>
  T* data();
  template <typename T>
  const T* data() const;
  float* ptr() { return data<float>(); }
  const float* ptr() const { return data<float>(); }

  // Host copies in f32 whatever the dtype and device, and the way back (converting, uploading).
  std::vector<float> to_floats() const;
  void assign(const std::vector<float>& values);
  // This tensor's values become src's (same shape; converted to this dtype, copied to this device), in place.
  void copy_from(const Tensor& src);
  // The same, except that src's host storage is taken over without a copy when this tensor owns its storage and
  // dtype and device already agree.
  void take_values(Tensor&& src);
  // Same shape, values converted to `dtype`, on `alloc`'s device (null: the host).
  Tensor to(DType dtype, Allocator* alloc = nullptr) const;

  // Throws "tensor <name>: expected shape [..], got [..]".
  void expect_shape(const Shape& expected) const;
  void expect_dtype(DType expected) const;

 private:
  void release();
  void check_host(DType want) const;
  DType dtype_ = DType::kF32;
  Allocator* alloc_ = nullptr;
  void* data_ = nullptr;
  int64_t numel_ = 0;
  bool owned_ = true;
};

// A trainable tensor, its gradient, and whether weight decay applies (not to norms and biases, as in
// Hugging Face's Trainer).
struct ParamRef {
  Tensor* value;
  Tensor* grad;
  bool decay;
};

}  // namespace tandem
