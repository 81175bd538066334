#include "core/tensor.h"

#include <algorithm>

#include "core/check.h"

namespace tandem {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    TANDEM_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
    n *= d;
  }
  return n;
}

Tensor::Tensor(std::string name_, Shape shape_)
    : name(std::move(name_)), shape(std::move(shape_)), data(static_cast<size_t>(shape_numel(shape)), 0.0f) {}

int64_t Tensor::dim(int i) const {
  const int n = static_cast<int>(shape.size());
  const int j = i < 0 ? n + i : i;
  TANDEM_CHECK(j >= 0 && j < n, "tensor ", name, ": no dimension ", i, " in shape ", shape_str(shape));
  return shape[j];
}

void Tensor::zero() { std::fill(data.begin(), data.end(), 0.0f); }

void Tensor::expect_shape(const Shape& expected) const {
  TANDEM_CHECK(shape == expected, "tensor ", name, ": expected shape ", shape_str(expected), ", got ",
               shape_str(shape));
}

}  // namespace tandem
