// The CUDA backend's GEMM ops: linear layers, the LoRA branch and the LM head fused with log-softmax, through
// gemm_lt (cuBLASLt, fp32 accumulation). Same formulas, dtype rules and argument checks as the CPU backend
// (cpu_backend.cpp, kernels/linear.cpp, lora.cpp, logprobs.cpp): bf16 weights run bf16 GEMMs (an f32 input rounded
// once), f32 weights f32 GEMMs; LoRA's small GEMMs are f32 whatever the storage.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/gemm_lt.h"
#include "backends/cuda/kernels/bias.cuh"
#include "backends/cuda/kernels/convert.cuh"
#include "backends/cuda/kernels/gather.cuh"
#include "backends/cuda/kernels/logsoftmax.cuh"
#include "backends/op_checks.h"
#include "core/check.h"

namespace tandem {

namespace {

using cuda::GemmInputs;
using cuda::In;
using cuda::Out;

// x advanced by i elements of its storage type (null stays null).
In at(In x, int64_t i) { return x ? In{static_cast<const char*>(x.p) + i * (x.bf16 ? 2 : 4), x.bf16} : x; }
Out at(Out x, int64_t i) { return x ? Out{static_cast<char*>(x.p) + i * (x.bf16 ? 2 : 4), x.bf16} : x; }

size_t aligned_bytes(int64_t n, size_t elem) { return (size_t(n) * elem + 255) / 256 * 256; }

}  // namespace

void CudaBackend::linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* bias, int64_t rows) {
  const char* op = "linear";
  const int64_t out_dim = w.dim(0), in_dim = w.dim(1);
  need(op, x, rows * in_dim), need(op, y, rows * out_dim);
  const bool has_bias = bias && !bias->empty();
  if (has_bias) need(op, *bias, out_dim);
  const In px = in(op, x), pw = in(op, w), pb = has_bias ? in(op, *bias) : In{};
  const Out py = out(op, y);
  const GemmInputs inputs = cuda::inputs_for_weight(w.dtype() == DType::kBF16);
  if (!has_bias)
    return cuda::gemm_lt(*this, op, false, true, rows, out_dim, in_dim, 1, px, in_dim, pw, in_dim, 0, py, out_dim,
                         inputs);
  // The bias joins the f32 product before y's single rounding (a bf16 y gets the sum through f32 scratch).
  const Out acc = py.bf16 ? Out{scratch(kOpSlot0, size_t(rows * out_dim) * 4), false} : py;
  cuda::gemm_lt(*this, op, false, true, rows, out_dim, in_dim, 1, px, in_dim, pw, in_dim, 0, acc, out_dim, inputs);
  cuda::add_bias_rows(py, acc, pb, rows, out_dim, stream());
}

void CudaBackend::linear_backward(Tensor* dx, Tensor* dw, Tensor* dbias, const Tensor& dy, const Tensor& x,
                                  const Tensor& w, int64_t rows) {
  const char* op = "linear_backward";
  const int64_t out_dim = w.dim(0), in_dim = w.dim(1);
  need(op, dy, rows * out_dim), need(op, x, rows * in_dim);
  if (dx) need(op, *dx, rows * in_dim);
  if (dw && !dw->empty()) need(op, *dw, out_dim * in_dim);  // empty: skipped, as a null one
  if (dbias && !dbias->empty()) need(op, *dbias, out_dim);
  const In pdy = in(op, dy), px = in(op, x), pw = in(op, w);
  const Out pdx = out(op, dx), pdw = out(op, dw), pdb = out(op, dbias);
  const GemmInputs inputs = cuda::inputs_for_weight(w.dtype() == DType::kBF16);
  if (pdb) {  // from dy as stored (not its bf16 rounding): the bias is not a GEMM
    auto* partials = static_cast<float*>(scratch(kOpSlot0, cuda::column_sums_partials(rows, out_dim) * 4));
    cuda::column_sums_add(pdb, pdy, rows, out_dim, partials, stream());
  }
  // bf16 GEMMs read dy rounded to bf16 (the backward of a bf16 matmul under autocast): rounded once for both.
  In g = pdy;
  if ((pdx || pdw) && inputs == GemmInputs::kBf16 && !pdy.bf16 && rows * out_dim > 0) {
    const Out rounded{scratch(kOpSlot1, size_t(rows * out_dim) * 2), true};
    cuda::convert_matrix(rounded, pdy, rows, out_dim, out_dim, out_dim, stream());
    g = rounded;
  }
  if (pdx)  // dx += dy W
    cuda::gemm_lt(*this, op, false, false, rows, in_dim, out_dim, 1, g, out_dim, pw, in_dim, 1, pdx, in_dim, inputs);
  if (pdw)  // dw += dy^T x
    cuda::gemm_lt(*this, op, true, false, out_dim, in_dim, rows, 1, g, out_dim, px, in_dim, 1, pdw, in_dim, inputs);
}

void CudaBackend::lora_forward(Tensor& y, Tensor& h, const Tensor& x, const Tensor& a, const Tensor& b, int64_t rows,
                               double scale) {
  const char* op = "lora";
  const int64_t in_dim = a.dim(1), out_dim = b.dim(0), rank = a.dim(0);
  need(op, x, rows * in_dim), need(op, y, rows * out_dim), need(op, h, rows * rank), need(op, b, out_dim * rank);
  const In px = in(op, x), pa = in(op, a), pb = in(op, b);
  const Out py = out(op, y), ph = out(op, h);
  // h = x A^T, kept in f32 for the second GEMM (as the CPU backend's f32 copy) and rounded once into a bf16 h.
  const Out h32 = ph.bf16 ? Out{scratch(kOpSlot0, size_t(rows * rank) * 4), false} : ph;
  cuda::gemm_lt(*this, op, false, true, rows, rank, in_dim, 1, px, in_dim, pa, in_dim, 0, h32, rank, GemmInputs::kF32);
  if (ph.bf16) cuda::convert_matrix(ph, h32, rows, rank, rank, rank, stream());
  // y += scale * h B^T
  cuda::gemm_lt(*this, op, false, true, rows, out_dim, rank, float(scale), h32, rank, pb, rank, 1, py, out_dim,
                GemmInputs::kF32);
}

void CudaBackend::lora_backward(Tensor* dx, Tensor& da, Tensor& db, const Tensor& dy, const Tensor& x,
                                const Tensor& h, const Tensor& a, const Tensor& b, int64_t rows, double scale) {
  const char* op = "lora_backward";
  const int64_t in_dim = a.dim(1), out_dim = b.dim(0), rank = a.dim(0);
  need(op, dy, rows * out_dim), need(op, h, rows * rank), need(op, x, rows * in_dim);
  need(op, b, out_dim * rank), need(op, da, rank * in_dim), need(op, db, out_dim * rank);
  if (dx) need(op, *dx, rows * in_dim);
  const In pdy = in(op, dy), px = in(op, x), ph = in(op, h), pa = in(op, a), pb = in(op, b);
  const Out pdx = out(op, dx), pda = out(op, da), pdb = out(op, db);
  const auto f32 = GemmInputs::kF32;
  const float s = float(scale);
  // dh = scale * dy B (f32 scratch); dB += scale * dy^T h; dA += dh^T x; dx += dh A.
  const Out dh{scratch(kOpSlot0, size_t(rows * rank) * 4), false};
  cuda::gemm_lt(*this, op, false, false, rows, rank, out_dim, s, pdy, out_dim, pb, rank, 0, dh, rank, f32);
  cuda::gemm_lt(*this, op, true, false, out_dim, rank, rows, s, pdy, out_dim, ph, rank, 1, pdb, rank, f32);
  cuda::gemm_lt(*this, op, true, false, rank, in_dim, rows, 1, dh, rank, px, in_dim, 1, pda, in_dim, f32);
  if (pdx) cuda::gemm_lt(*this, op, false, false, rows, in_dim, rank, 1, dh, rank, pa, in_dim, 1, pdx, in_dim, f32);
}

void CudaBackend::token_logprobs(Tensor* logp, Tensor* dx, Tensor* dw, const Tensor* grad, const Tensor& x,
                                 const Tensor& w, const Tensor& row_index, const Tensor& target, int64_t chunk_rows,
                                 double softcap) {
  const char* op = "token_logprobs";
  const int64_t pairs = row_index.numel(), V = w.dim(0), D = w.dim(1);
  need(op, target, pairs);
  if (logp) need(op, *logp, pairs);
  if (grad) need(op, *grad, pairs);
  if (dx) need(op, *dx, x.numel());
  if (dw && !dw->empty()) need(op, *dw, V * D);  // empty: skipped, as a null one
  TANDEM_CHECK(softcap >= 0, "token_logprobs: final logit softcap ", softcap, " must be >= 0 (0: off)");
  const int64_t rows = x.numel() / std::max<int64_t>(D, 1);
  const int32_t *row_dev = ints(op, &row_index), *target_dev = ints(op, &target);
  if (pairs == 0) return;
  {  // the CPU backend's checks, on the host: a bad index must be an error, not an out-of-bounds read
    const auto n = static_cast<size_t>(pairs);
    std::vector<int32_t> row_host(n), target_host(n);
    download(row_host.data(), row_dev, n * sizeof(int32_t));
    download(target_host.data(), target_dev, n * sizeof(int32_t));
    for (int64_t k = 0; k < pairs; ++k) {
      TANDEM_CHECK(target_host[size_t(k)] >= 0 && target_host[size_t(k)] < V, "token_logprobs: target id ",
                   target_host[size_t(k)], " of pair ", k, " is outside vocab ", V);
      TANDEM_CHECK(row_host[size_t(k)] >= 0 && row_host[size_t(k)] < rows, "token_logprobs: row ",
                   row_host[size_t(k)], " of pair ", k, " is outside ", rows, " rows");
    }
  }
  const In px = in(op, x), pw = in(op, w), pg = in(op, grad);
  const Out plogp = out(op, logp), pdx = out(op, dx), pdw = out(op, dw);
  const bool backward = grad != nullptr;
  const GemmInputs inputs = cuda::inputs_for_weight(w.dtype() == DType::kBF16);
  const bool bf16_in = inputs == GemmInputs::kBf16;

  // Per chunk of pairs: their x rows gathered in the GEMM input type, logits [c, V] f32 (slot 4), and for the
  // backward the logit gradient (over the logits for f32 GEMMs, a bf16 copy for bf16 ones) and dx rows [c, D] f32.
  const int64_t chunk = logits_chunk_rows(chunk_rows, V), max_rows = std::min<int64_t>(chunk, pairs);
  auto* logits = static_cast<float*>(scratch(kOpSlot0, size_t(max_rows * V) * 4));
  const size_t xc_bytes = aligned_bytes(max_rows * D, bf16_in ? 2 : 4);
  const size_t dz_bytes = backward && bf16_in ? aligned_bytes(max_rows * V, 2) : 0;
  const size_t dxc_bytes = backward && pdx ? aligned_bytes(max_rows * D, 4) : 0;
  char* base = static_cast<char*>(scratch(kOpSlot1, xc_bytes + dz_bytes + dxc_bytes));
  const Out xc{base, bf16_in};
  void* dz16 = dz_bytes ? base + xc_bytes : nullptr;
  const Out dxc{dxc_bytes ? base + xc_bytes + dz_bytes : nullptr, false};

  for (int64_t c0 = 0; c0 < pairs; c0 += chunk) {
    const int64_t c = std::min<int64_t>(chunk, pairs - c0);
    cuda::gather_rows(xc, px, row_dev + c0, c, D, stream());
    cuda::gemm_lt(*this, op, false, true, c, V, D, 1, xc, D, pw, D, 0, Out{logits, false}, V, inputs);
    cuda::logsoftmax_rows({logits, c, V, target_dev + c0, at(plogp, c0), backward ? at(pg, c0) : In{},
                           float(softcap), dz16},
                          stream());
    if (!backward) continue;
    const In dz = dz16 ? In{dz16, true} : In{logits, false};
    if (pdx) {  // dx rows = dz W, then added to their rows in pair order (a row scored twice gets both)
      cuda::gemm_lt(*this, op, false, false, c, D, V, 1, dz, V, pw, D, 0, dxc, D, inputs);
      cuda::scatter_add_rows(pdx, dxc, row_dev + c0, c, D, stream());
    }
    if (pdw)  // dw += dz^T x rows
      cuda::gemm_lt(*this, op, true, false, V, D, c, 1, dz, V, xc, D, 1, pdw, D, inputs);
  }
}

}  // namespace tandem
