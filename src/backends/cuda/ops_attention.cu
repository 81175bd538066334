// The attention ops: the CPU backend's argument checks (backends/op_checks.h, backends/attention_checks.h), then
// the flash-style kernels of kernels/attention_*.cu on the backend's stream.
#include <algorithm>
#include <cmath>

#include "backends/attention_checks.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/kernels/attention_backward.cuh"
#include "backends/cuda/kernels/attention_decode.cuh"
#include "backends/cuda/kernels/attention_forward.cuh"
#include "backends/op_checks.h"
#include "core/check.h"

namespace tandem {

namespace {

// 1/sqrt(head_dim) unless the scoring sets a scale, in f32 as the CPU kernels compute it.
float resolved_scale(const AttentionScoring& o, int64_t head_dim) {
  return o.scale > 0 ? float(o.scale) : 1.f / std::sqrt(float(head_dim));
}

// Heads and sequences are grid dimensions (at most 65535 each).
void check_grid(const char* op, int64_t heads, int64_t batch) {
  TANDEM_CHECK(heads <= 65535 && batch <= 65535, op, ": ", heads, " heads and ", batch,
               " sequences exceed the CUDA kernels' grid (65535 each)");
}

// The kernels' view of one call, after the checks every backend makes (in the CPU backend's order).
cuda::AttentionProblem attention_problem(const CudaBackend& be, const char* op, const Tensor& q, const Tensor& k,
                                         const Tensor& v, const Tensor& lengths, const AttentionShape& s,
                                         const AttentionMaskTensors& m) {
  check_attention_heads("attention", s.heads, s.kv_heads);
  check_attention_scoring("attention", s.scoring);
  check_grid(op, s.heads, s.batch);
  cuda::AttentionProblem p;
  p.q = be.in(op, q), p.k = be.in(op, k), p.v = be.in(op, v);
  p.lengths = be.ints(op, &lengths);
  p.segment_start = be.ints(op, m.segment_start), p.prefix_end = be.ints(op, m.prefix_end);
  p.batch = s.batch, p.seq = s.seq, p.heads = s.heads, p.kv_heads = s.kv_heads, p.head_dim = s.head_dim;
  p.scale = resolved_scale(s.scoring, s.head_dim), p.cap = float(s.scoring.softcap), p.window = s.scoring.window;
  return p;
}

}  // namespace

void CudaBackend::attention_forward(Tensor& out, Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& lengths, const AttentionShape& s, const AttentionMaskTensors& m) {
  const char* op = "attention";
  check_attention_args(op, q, k, v, lengths, s, m);
  need(op, out, q.numel()), need(op, lse, s.batch * s.heads * s.seq);
  const cuda::AttentionProblem p = attention_problem(*this, op, q, k, v, lengths, s, m);
  cuda::attention_forward(p, this->out(op, out), this->out(op, lse), stream());
}

void CudaBackend::attention_backward(Tensor& dq, Tensor& dk, Tensor& dv, const Tensor& dout, const Tensor& out,
                                     const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                                     const Tensor& lengths, const AttentionShape& s, const AttentionMaskTensors& m) {
  const char* op = "attention_backward";
  check_attention_args(op, q, k, v, lengths, s, m);
  need(op, dq, q.numel()), need(op, dk, k.numel()), need(op, dv, v.numel()), need(op, dout, q.numel());
  need(op, out, q.numel()), need(op, lse, s.batch * s.heads * s.seq);
  const cuda::AttentionProblem p = attention_problem(*this, op, q, k, v, lengths, s, m);
  const int64_t rows = s.batch * s.heads * s.seq;
  float* delta = static_cast<float*>(scratch(kOpSlot0, size_t(rows > 0 ? rows : 1) * sizeof(float)));
  cuda::attention_backward(p, this->out(op, dq), this->out(op, dk), this->out(op, dv), in(op, dout), in(op, out),
                           in(op, lse), delta, stream());
}

void CudaBackend::attention_decode(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                   int64_t start, int64_t n, int64_t heads, int64_t kv_heads,
                                   const AttentionScoring& scoring) {
  const char* op = "attention_decode";
  const int64_t D = q.numel() / std::max<int64_t>(n * heads, 1);
  need(op, q, n * heads * D), need(op, out, n * heads * D);
  TANDEM_CHECK(k_cache.numel() >= (start + n) * kv_heads * D && v_cache.numel() == k_cache.numel(), op, ": caches ",
               k_cache.name, "/", v_cache.name, " hold fewer than ", start + n, " positions");
  check_attention_scoring(op, scoring);
  check_attention_heads(op, heads, kv_heads);  // the CPU kernel assumes it; here it would divide by zero
  TANDEM_CHECK(start >= 0 && n <= 2147483647 && heads <= 65535, op, ": start ", start, ", ", n, " rows and ", heads,
               " heads are outside the CUDA kernel's grid");
  cuda::DecodeProblem p;
  p.q = in(op, q), p.k_cache = in(op, k_cache), p.v_cache = in(op, v_cache);
  p.start = start, p.n = n, p.heads = heads, p.kv_heads = kv_heads, p.head_dim = D;
  p.scale = resolved_scale(scoring, D), p.cap = float(scoring.softcap), p.window = scoring.window;
  cuda::attention_decode(p, this->out(op, out), stream());
}

}  // namespace tandem
