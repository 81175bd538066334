#include "core/tensor.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "core/bf16.h"
#include "core/check.h"

namespace tandem {

const char* dtype_str(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kBF16: return "bf16";
    case DType::kF64: return "f64";
    case DType::kI32: return "i32";
  }
  return "?";
}

const char* device_str(Device d) { return d == Device::kCpu ? "cpu" : "cuda"; }

namespace {
class HostAllocator final : public Allocator {
 public:
  Device device() const override { return Device::kCpu; }
  void* alloc(size_t bytes) override {
    void* p = ::operator new(bytes, std::align_val_t(64), std::nothrow);
    TANDEM_CHECK(p, "out of host memory allocating ", bytes, " bytes");
    std::memset(p, 0, bytes);
    return p;
  }
  void free(void* p) override { ::operator delete(p, std::align_val_t(64)); }
  // An empty tensor has no buffer (a null pointer), and memcpy/memset with null are undefined even for 0 bytes.
  void copy(void* dst, const void* src, size_t n) override { if (n) std::memcpy(dst, src, n); }
  void upload(void* dst, const void* src, size_t n) override { if (n) std::memcpy(dst, src, n); }
  void download(void* dst, const void* src, size_t n) override { if (n) std::memcpy(dst, src, n); }
  void fill_zero(void* p, size_t n) override { if (n) std::memset(p, 0, n); }
};
}  // namespace

Allocator& host_allocator() {
  static HostAllocator a;
  return a;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    TANDEM_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
    TANDEM_CHECK(!__builtin_mul_overflow(n, d, &n), "shape ", shape_str(shape), " has more than 2^63 elements");
  }
  return n;
}

Tensor::Tensor(std::string name_, Shape shape_, DType dtype, Allocator* alloc)
    : name(std::move(name_)), shape(std::move(shape_)), dtype_(dtype), numel_(shape_numel(shape)) {
  alloc_ = alloc ? alloc : &host_allocator();
  if (numel_ <= 0) return;
  try {
    data_ = alloc_->alloc(size_t(bytes()));
  } catch (const Error& e) {  // out of (device) memory: say for which tensor
    fail("tensor ", name, " ", shape_str(shape), " ", dtype_str(dtype_), ": ", e.what());
  }
}

Tensor Tensor::view(std::string name, Shape shape, DType dtype, Tensor& block, int64_t byte_offset) {
  Tensor t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.dtype_ = dtype;
  t.alloc_ = block.alloc_;
  t.numel_ = shape_numel(t.shape);
  t.owned_ = false;
  TANDEM_CHECK(byte_offset >= 0 && byte_offset + t.bytes() <= block.bytes(), "tensor ", t.name, ": a view of ",
               t.bytes(), " bytes at offset ", byte_offset, " does not fit in ", block.name, " (", block.bytes(),
               " bytes)");
  if (t.numel_ > 0) t.data_ = static_cast<char*>(block.data_) + byte_offset;
  return t;
}

Tensor::Tensor(const Tensor& o) : name(o.name), shape(o.shape), dtype_(o.dtype_), alloc_(o.alloc_), numel_(o.numel_) {
  if (numel_ > 0) {
    data_ = alloc_->alloc(size_t(bytes()));
    alloc_->copy(data_, o.data_, size_t(bytes()));
  }
}

Tensor& Tensor::operator=(const Tensor& o) {
  if (this != &o) *this = Tensor(o);
  return *this;
}

Tensor::Tensor(Tensor&& o) noexcept
    : name(std::move(o.name)), shape(std::move(o.shape)), dtype_(o.dtype_), alloc_(o.alloc_), data_(o.data_),
      numel_(o.numel_), owned_(o.owned_) {
  o.data_ = nullptr;
  o.numel_ = 0;
  o.owned_ = true;
}

Tensor& Tensor::operator=(Tensor&& o) noexcept {
  if (this == &o) return *this;
  release();
  name = std::move(o.name), shape = std::move(o.shape);
  dtype_ = o.dtype_, alloc_ = o.alloc_, data_ = o.data_, numel_ = o.numel_, owned_ = o.owned_;
  o.data_ = nullptr;
  o.numel_ = 0;
  o.owned_ = true;
  return *this;
}

Tensor::~Tensor() { release(); }

void Tensor::release() {
  if (data_ && owned_) alloc_->free(data_);
  data_ = nullptr;
  owned_ = true;
}

int64_t Tensor::dim(int i) const {
  const int n = static_cast<int>(shape.size());
  const int j = i < 0 ? n + i : i;
  TANDEM_CHECK(j >= 0 && j < n, "tensor ", name, ": no dimension ", i, " in shape ", shape_str(shape));
  return shape[j];
}

void Tensor::zero() {
  if (data_) alloc_->fill_zero(data_, size_t(bytes()));
}

void Tensor::check_host(DType want) const {
  TANDEM_CHECK(dtype_ == want && device() == Device::kCpu, "tensor ", name, ": is ", dtype_str(dtype_), " on ",
               device_str(device()), ", expected ", dtype_str(want), " on cpu");
}

template <typename T>
T* Tensor::data() {
  check_host(dtype_of<T>());
  return static_cast<T*>(data_);
}
template <typename T>
const T* Tensor::data() const {
  check_host(dtype_of<T>());
  return static_cast<const T*>(data_);
}
template float* Tensor::data<float>();
template const float* Tensor::data<float>() const;
template double* Tensor::data<double>();
template const double* Tensor::data<double>() const;
template bf16* Tensor::data<bf16>();
template const bf16* Tensor::data<bf16>() const;
template int32_t* Tensor::data<int32_t>();
template const int32_t* Tensor::data<int32_t>() const;

namespace {
// dst[i] = src[i] converted, both host memory: every dtype conversion of a tensor is this one loop, and host tensors
// convert in place (a 150k-vocabulary embedding is 600 MB in f32: no staging copies).
void convert_host(void* dst, DType to, const void* src, DType from, int64_t n) {
  auto read = [&](int64_t i) -> float {
    switch (from) {
      case DType::kBF16: return to_float(static_cast<const bf16*>(src)[i]);
      case DType::kF64: return float(static_cast<const double*>(src)[i]);
      case DType::kI32: return float(static_cast<const int32_t*>(src)[i]);
      default: return static_cast<const float*>(src)[i];
    }
  };
  for (int64_t i = 0; i < n; ++i) {
    const float v = read(i);
    switch (to) {
      case DType::kBF16: static_cast<bf16*>(dst)[i] = to_bf16(v); break;
      case DType::kF64: static_cast<double*>(dst)[i] = v; break;
      case DType::kI32: static_cast<int32_t*>(dst)[i] = int32_t(v); break;
      default: static_cast<float*>(dst)[i] = v;
    }
  }
}
}  // namespace

std::vector<float> Tensor::to_floats() const {
  std::vector<float> out(static_cast<size_t>(numel_));
  if (numel_ == 0) return out;
  if (device() == Device::kCpu) {
    convert_host(out.data(), DType::kF32, data_, dtype_, numel_);
    return out;
  }
  std::vector<unsigned char> host(static_cast<size_t>(bytes()));
  alloc_->download(host.data(), data_, host.size());
  convert_host(out.data(), DType::kF32, host.data(), dtype_, numel_);
  return out;
}

void Tensor::assign(const std::vector<float>& values) {
  TANDEM_CHECK(int64_t(values.size()) == numel_, "tensor ", name, ": assigning ", values.size(),
               " values to shape ", shape_str(shape));
  if (numel_ == 0) return;
  if (device() == Device::kCpu) {
    convert_host(data_, dtype_, values.data(), DType::kF32, numel_);
    return;
  }
  std::vector<unsigned char> host(static_cast<size_t>(bytes()));
  convert_host(host.data(), dtype_, values.data(), DType::kF32, numel_);
  alloc_->upload(data_, host.data(), host.size());
}

void Tensor::copy_from(const Tensor& src) {
  TANDEM_CHECK(src.shape == shape, "tensor ", name, ": expected shape ", shape_str(shape), ", got ",
               shape_str(src.shape));
  if (numel_ == 0) return;
  if (src.dtype_ == dtype_ && src.alloc_ == alloc_) {
    alloc_->copy(data_, src.data_, size_t(bytes()));
  } else if (src.dtype_ == dtype_ && src.device() == Device::kCpu) {
    alloc_->upload(data_, src.data_, size_t(bytes()));
  } else if (src.device() == Device::kCpu && device() == Device::kCpu) {
    convert_host(data_, dtype_, src.data_, src.dtype_, numel_);
  } else {
    assign(src.to_floats());  // f64 values pass through f32 here: conversions are for storage, not references
  }
}

void Tensor::take_values(Tensor&& src) {
  Allocator* mine = alloc_ ? alloc_ : &host_allocator();
  if (owned_ && src.shape == shape && src.dtype_ == dtype_ && src.device() == Device::kCpu &&
      mine->device() == Device::kCpu) {
    std::string keep = std::move(name);  // host memory of any CPU allocator: adopt it, no copy
    *this = std::move(src);
    name = std::move(keep);
    return;
  }
  copy_from(src);  // a view keeps its place in its block; other storage is converted into
}

Tensor Tensor::to(DType dtype, Allocator* alloc) const {
  Tensor out(name, shape, dtype, alloc);
  out.copy_from(*this);
  return out;
}

void Tensor::expect_shape(const Shape& expected) const {
  TANDEM_CHECK(shape == expected, "tensor ", name, ": expected shape ", shape_str(expected), ", got ",
               shape_str(shape));
}

void Tensor::expect_dtype(DType expected) const {
  TANDEM_CHECK(dtype_ == expected, "tensor ", name, ": expected ", dtype_str(expected), ", got ", dtype_str(dtype_));
}

}  // namespace tandem
