#include "backends/backend.h"

#include <algorithm>

#include "core/check.h"

namespace tandem {

void Backend::copy_elements(Tensor& dst, int64_t dst_off, const Tensor& src, int64_t src_off, int64_t count) {
  TANDEM_CHECK(dst.dtype() == src.dtype(), "copy: tensor ", src.name, " is ", dtype_str(src.dtype()), ", ", dst.name,
               " is ", dtype_str(dst.dtype()));
  TANDEM_CHECK(count >= 0 && dst_off >= 0 && src_off >= 0 && dst_off + count <= dst.numel() &&
                   src_off + count <= src.numel(),
               "copy: ", count, " elements from ", src.name, "[", src_off, "] to ", dst.name, "[", dst_off,
               "] run past a tensor's end");
  const int64_t e = dtype_bytes(dst.dtype());
  copy(static_cast<char*>(dst.raw()) + dst_off * e, static_cast<const char*>(src.raw()) + src_off * e,
       size_t(count * e));
}

Tensor& ensure_tensor(Backend& b, Tensor& t, const char* name, const Shape& shape, DType dtype) {
  if (t.shape != shape || t.allocator() != &b || t.dtype() != dtype) t = Tensor(name, shape, dtype, &b);
  return t;
}

Tensor& upload_ints(Backend& b, Tensor& t, const char* name, const std::vector<int32_t>& values) {
  ensure_tensor(b, t, name, {int64_t(values.size())}, DType::kI32);
  if (!values.empty()) b.upload(t.raw(), values.data(), values.size() * sizeof(int32_t));
  return t;
}

int64_t logits_chunk_rows(int64_t requested, int64_t vocab) {
  if (requested > 0) return requested;
  return std::clamp<int64_t>((int64_t{8} << 20) / std::max<int64_t>(vocab, 1), 16, 1024);
}

Backend& backend_of(const Tensor& t) {
  if (auto* b = dynamic_cast<Backend*>(t.allocator())) return *b;
  TANDEM_CHECK(t.device() == Device::kCpu, "tensor ", t.name, " is on ", device_str(t.device()),
               " without a backend");
  return cpu_backend();
}

}  // namespace tandem
