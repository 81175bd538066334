#include "core/arena.h"

#include "core/check.h"

namespace tandem {

namespace {
constexpr int64_t kAlign = 64;  // a cache line; AVX-512 loads of a tensor's start never split one
}

int64_t arena_span(int64_t numel, DType dtype) {
  return (numel * dtype_bytes(dtype) + kAlign - 1) / kAlign * kAlign;
}

int64_t arena_bytes(const std::vector<TensorSlot>& slots) {
  int64_t bytes = 0;
  for (const auto& s : slots) bytes += arena_span(shape_numel(s.shape), s.dtype);
  return bytes;
}

Tensor arena_block(const std::string& name, int64_t bytes, Allocator* alloc) {
  // Spans are multiples of 64 bytes, so the block is a whole number of f32s whatever the tensors' types.
  return Tensor(name, {bytes / 4}, DType::kF32, alloc);
}

Tensor place_in_arena(const std::string& name, const std::vector<TensorSlot>& slots, Allocator* alloc) {
  Tensor block = arena_block(name, arena_bytes(slots), alloc);
  int64_t offset = 0;
  for (const auto& s : slots) {
    *s.tensor = Tensor::view(s.name, s.shape, s.dtype, block, offset);
    offset += arena_span(shape_numel(s.shape), s.dtype);
  }
  return block;
}

Tensor rows_view(Tensor& block, const Tensor& t, const char* part, int64_t first, int64_t rows) {
  const int64_t width = t.numel() / t.dim(0);
  TANDEM_CHECK(first >= 0 && rows >= 0 && first + rows <= t.dim(0), "tensor ", t.name, ": rows [", first, ", ",
               first + rows, ") of ", t.dim(0));
  const int64_t at = (static_cast<const char*>(t.raw()) - static_cast<const char*>(block.raw())) +
                     first * width * dtype_bytes(t.dtype());
  Shape shape = t.shape;
  shape[0] = rows;
  return Tensor::view(part ? t.name + " [" + part + " rows]" : t.name, shape, t.dtype(), block, at);
}

}  // namespace tandem
