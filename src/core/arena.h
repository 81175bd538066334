// One allocation holding many tensors: the model's parameters, its gradients and the optimizer's state each live in
// one block per backend, as llm.c's params_memory and grads_memory do. Each tensor is a view at a 64-byte aligned
// offset, so one memset zeroes every gradient and the memory a model needs is a sum over a table, not a guess.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tandem {

// Where a tensor goes: the slot that receives the view, and its name, shape and storage type.
struct TensorSlot {
  Tensor* tensor;
  std::string name;
  Shape shape;
  DType dtype;
};

// Bytes of a tensor of `numel` elements of `dtype` rounded up to the arena's alignment.
int64_t arena_span(int64_t numel, DType dtype);
// Bytes of an arena holding `slots`.
int64_t arena_bytes(const std::vector<TensorSlot>& slots);
// A zero-filled block of `bytes` (a multiple of the alignment) on `alloc` (null: the host), to hold views.
Tensor arena_block(const std::string& name, int64_t bytes, Allocator* alloc);
// Allocates one zero-filled block named `name` on `alloc` (null: the host) and makes each slot's tensor a view into
// it, in order. Returns the block, which must outlive the views (moving it keeps them valid).
Tensor place_in_arena(const std::string& name, const std::vector<TensorSlot>& slots, Allocator* alloc);
// Rows [first, first + rows) of `t`, a view into `block` (of which t is a view too), named "<t's name> [<part>
// rows]" (null part: t's name): how a fused tensor is seen as its parts (q, k and v of a fused qkv; a fused LoRA
// B's projection rows).
Tensor rows_view(Tensor& block, const Tensor& t, const char* part, int64_t first, int64_t rows);

}  // namespace tandem
