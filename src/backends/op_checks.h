// Argument checks every backend makes before an op runs, so that a wrong size is the same error on every device:
// it names the op and the tensor.
#pragma once
#include <algorithm>
#include <cstdint>

#include "backends/backend.h"
#include "core/check.h"

namespace tandem {

inline void need(const char* op, const Tensor& t, int64_t numel) {
  TANDEM_CHECK(t.numel() == numel, op, ": tensor ", t.name, " has ", t.numel(), " elements (shape ",
               shape_str(t.shape), "), expected ", numel);
}

// x [batch, seq, heads, head_dim] rotated by tables cos, sin [positions, half] on its first 2 * half dims, positions
// [batch * seq] when given. Returns head_dim; 0 when there is nothing to rotate.
inline int64_t check_rope_args(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t batch, int64_t seq,
                               int64_t heads, const Tensor* positions) {
  const int64_t half = cos.dim(-1), rows = batch * seq * heads, D = x.numel() / std::max<int64_t>(rows, 1);
  if (rows == 0 && x.numel() == 0) return 0;
  TANDEM_CHECK(rows > 0 && x.numel() == rows * D && 2 * half <= D, "rope: tensor ", x.name, " (shape ",
               shape_str(x.shape), ") is not [", batch, ", ", seq, ", ", heads, ", head_dim] with head_dim >= ",
               2 * half, " (the rotary dims of table ", cos.name, ")");
  need("rope", sin, cos.numel());
  if (positions) need("rope", *positions, batch * seq);
  return D;
}

// q [B, T, H, D], k and v [B, T, G, D], lengths [B], and the optional per-token mask arrays [B * T].
inline void check_attention_args(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& lengths, const AttentionShape& s, const AttentionMaskTensors& m) {
  const int64_t tokens = s.batch * s.seq;
  need(op, q, tokens * s.heads * s.head_dim), need(op, k, tokens * s.kv_heads * s.head_dim);
  need(op, v, k.numel()), need(op, lengths, s.batch);
  if (m.segment_start) need(op, *m.segment_start, tokens);
  if (m.prefix_end) need(op, *m.prefix_end, tokens);
}

}  // namespace tandem
