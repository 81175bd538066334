// A named, contiguous, row-major fp32 tensor that owns its storage.
// Deliberately small: kernels take raw pointers and sizes; Tensor carries names and shapes so that a
// wrong shape is reported with the tensor's name.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);

struct Tensor {
  std::string name;
  Shape shape;
  std::vector<float> data;

  Tensor() = default;
  Tensor(std::string name, Shape shape);  // zero-initialised

  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  bool empty() const { return data.empty(); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  void zero();
  // Throws "tensor <name>: expected shape [..], got [..]".
  void expect_shape(const Shape& expected) const;
};

// A trainable tensor, its gradient, and whether weight decay applies (not to norms and biases, as in
// Hugging Face's Trainer).
struct ParamRef {
  Tensor* value;
  Tensor* grad;
  bool decay;
};

}  // namespace tandem
