// The CUDA backend's pointwise, normalisation, embedding, rotary, activation and optimizer ops: the CPU backend's
// argument checks (backends/op_checks.h, same error texts), then the kernels of kernels/ on stream(). Any mix of
// f32 and bf16 storage is read and written through cuda::In / cuda::Out, computed in f32.
#include <algorithm>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/activation.cuh"
#include "backends/cuda/kernels/adamw.cuh"
#include "backends/cuda/kernels/elementwise.cuh"
#include "backends/cuda/kernels/embedding.cuh"
#include "backends/cuda/kernels/norms.cuh"
#include "backends/cuda/kernels/rope.cuh"
#include "backends/op_checks.h"
#include "core/check.h"

namespace tandem {

namespace {

// The scratch slot of the reductions' partial sums (sum_squares, the norms' weight gradients).
constexpr int kPartialsSlot = CudaBackend::kOpSlot1;

// A null or empty optional tensor is absent, as in the CPU backend.
template <typename T>
T* present(T* t) {
  return t && !t->empty() ? t : nullptr;
}

}  // namespace

void CudaBackend::add(Tensor& out, const Tensor& a, const Tensor& b) {
  need("add", a, out.numel()), need("add", b, out.numel());
  cuda::add(this->out("add", out), in("add", a), in("add", b), out.numel(), stream());
}

void CudaBackend::mul(Tensor& out, const Tensor& a, const Tensor& b) {
  need("mul", a, out.numel()), need("mul", b, out.numel());
  cuda::mul(this->out("mul", out), in("mul", a), in("mul", b), out.numel(), stream());
}

void CudaBackend::add_mul(Tensor& acc, const Tensor& a, const Tensor& b) {
  need("add_mul", a, acc.numel()), need("add_mul", b, acc.numel());
  cuda::add_mul(out("add_mul", acc), in("add_mul", a), in("add_mul", b), acc.numel(), stream());
}

void CudaBackend::scale(Tensor& x, double s) {
  cuda::scale(out("scale", x), float(s), x.numel(), stream());  // the CPU kernel scales by s rounded to f32 too
}

double CudaBackend::sum_squares(const Tensor& x) {
  const cuda::In px = in("sum_squares", x);
  if (x.empty()) return 0;
  auto* partials = static_cast<double*>(scratch(kPartialsSlot, (cuda::kSumSquaresMaxBlocks + 1) * sizeof(double)));
  double* result = partials + cuda::kSumSquaresMaxBlocks;
  cuda::sum_squares(result, partials, px, x.numel(), stream());
  double host = 0;
  download(&host, result, sizeof host);  // waits for the stream
  return host;
}

void CudaBackend::tanh_softcap(Tensor& x, double cap) {
  TANDEM_CHECK(cap > 0, "tanh_softcap: cap ", cap, " of tensor ", x.name, " must be > 0");
  cuda::tanh_softcap(out("tanh_softcap", x), cap, x.numel(), stream());
}

void CudaBackend::embedding_forward(Tensor& out, const Tensor& ids, const Tensor& table) {
  const int64_t n = ids.numel(), dim = table.dim(-1);
  need("embedding", out, n * dim);
  const int64_t vocab = table.numel() / std::max<int64_t>(dim, 1);
  cuda::embedding_forward(this->out("embedding", out), ints("embedding", &ids), in("embedding", table), n, dim, vocab,
                          stream());
}

void CudaBackend::embedding_backward(Tensor& dtable, const Tensor& ids, const Tensor& dout) {
  const int64_t n = ids.numel(), dim = dtable.dim(-1);
  need("embedding_backward", dout, n * dim);
  const int64_t vocab = dtable.numel() / std::max<int64_t>(dim, 1);
  cuda::embedding_backward(out("embedding_backward", dtable), ints("embedding_backward", &ids),
                           in("embedding_backward", dout), n, dim, vocab, stream());
}

void CudaBackend::rmsnorm_forward(Tensor& out, Tensor& rstd, const Tensor& x, const Tensor& weight, int64_t rows,
                                  double eps, double weight_offset) {
  const int64_t dim = weight.numel();
  need("rmsnorm", x, rows * dim), need("rmsnorm", out, rows * dim), need("rmsnorm", rstd, rows);
  cuda::rmsnorm_forward(this->out("rmsnorm", out), this->out("rmsnorm", rstd), in("rmsnorm", x), in("rmsnorm", weight),
                        rows, dim, float(eps), float(weight_offset), stream());
}

void CudaBackend::rmsnorm_backward(Tensor& dx, Tensor* dweight, const Tensor& dout, const Tensor& x,
                                   const Tensor& weight, const Tensor& rstd, int64_t rows, double weight_offset) {
  const char* op = "rmsnorm_backward";
  const int64_t dim = weight.numel();
  need(op, dx, rows * dim), need(op, dout, rows * dim), need(op, rstd, rows);
  need(op, x, rows * dim);
  Tensor* dw = present(dweight);
  if (dw) need(op, *dw, dim);  // the CPU kernel assumes it; here the kernel's bound
  float* partials = nullptr;
  if (dw && rows > 0 && dim > 0)
    partials = static_cast<float*>(
        scratch(kPartialsSlot, size_t(cuda::norm_parts(rows) * dim) * sizeof(float)));
  cuda::rmsnorm_backward(out(op, dx), out(op, dw), partials, in(op, dout), in(op, x), in(op, weight), in(op, rstd),
                         rows, dim, float(weight_offset), stream());
}

void CudaBackend::layernorm_forward(Tensor& out, Tensor& mean, Tensor& rstd, const Tensor& x, const Tensor& weight,
                                    const Tensor* bias, int64_t rows, double eps) {
  const int64_t dim = weight.numel();
  need("layernorm", x, rows * dim), need("layernorm", out, rows * dim);
  need("layernorm", mean, rows), need("layernorm", rstd, rows);
  const Tensor* b = present(bias);
  if (b) need("layernorm", *b, dim);
  cuda::layernorm_forward(this->out("layernorm", out), this->out("layernorm", mean), this->out("layernorm", rstd),
                          in("layernorm", x), in("layernorm", weight), in("layernorm", b), rows, dim, float(eps),
                          stream());
}

void CudaBackend::layernorm_backward(Tensor& dx, Tensor* dweight, Tensor* dbias, const Tensor& dout, const Tensor& x,
                                     const Tensor& weight, const Tensor& mean, const Tensor& rstd, int64_t rows) {
  const char* op = "layernorm_backward";
  const int64_t dim = weight.numel();
  need(op, dx, rows * dim), need(op, dout, rows * dim);
  need(op, mean, rows), need(op, rstd, rows);
  need(op, x, rows * dim);
  Tensor* dw = present(dweight);
  Tensor* db = present(dbias);
  if (dw) need(op, *dw, dim);
  if (db) need(op, *db, dim);
  float* partials = nullptr;
  if ((dw || db) && rows > 0 && dim > 0)
    partials = static_cast<float*>(
        scratch(kPartialsSlot, size_t(cuda::norm_parts(rows) * 2 * dim) * sizeof(float)));
  cuda::layernorm_backward(out(op, dx), out(op, dw), out(op, db), partials, in(op, dout), in(op, x), in(op, weight),
                           in(op, mean), in(op, rstd), rows, dim, stream());
}

void CudaBackend::rope(Tensor& x, const Tensor& cos, const Tensor& sin, int64_t batch, int64_t seq, int64_t heads,
                       const Tensor* positions, bool inverse) {
  const int64_t half = cos.dim(-1), D = check_rope_args(x, cos, sin, batch, seq, heads, positions);
  if (D == 0) return;  // nothing to rotate
  const Tensor* pos = present(positions);
  const int64_t table_positions = cos.dim(0);
  TANDEM_CHECK(table_positions >= seq && half > 0 && half * 2 <= D, "rope: table for ", table_positions,
               " positions x ", half * 2, " rotary dims cannot serve seq ", seq, " x head_dim ", D,
               " (the rotary dims must be at most head_dim)");
  cuda::rope(out("rope", x), in("rope", cos), in("rope", sin), table_positions, half, batch, seq, heads, D,
             ints("rope", pos), inverse, stream());
}

void CudaBackend::glu_forward(Tensor& out, const Tensor& gate, const Tensor& up, Activation act) {
  need("glu", gate, out.numel()), need("glu", up, out.numel());
  cuda::glu_forward(this->out("glu", out), in("glu", gate), in("glu", up), out.numel(), act, stream());
}

void CudaBackend::glu_backward(Tensor& dgate, Tensor& dup, const Tensor& dout, const Tensor& gate, const Tensor& up,
                               Activation act) {
  const char* op = "glu_backward";
  const int64_t n = gate.numel();
  need(op, dgate, n), need(op, dup, n), need(op, dout, n);
  need(op, up, n);
  cuda::glu_backward(out(op, dgate), out(op, dup), in(op, dout), in(op, gate), in(op, up), n, act, stream());
}

void CudaBackend::activation_forward(Tensor& out, const Tensor& x, Activation act) {
  need("activation", x, out.numel());
  cuda::activation_forward(this->out("activation", out), in("activation", x), out.numel(), act, stream());
}

void CudaBackend::activation_backward(Tensor& dx, const Tensor& dout, const Tensor& x, Activation act) {
  const char* op = "activation_backward";
  const int64_t n = x.numel();
  need(op, dx, n), need(op, dout, n);
  cuda::activation_backward(out(op, dx), in(op, dout), in(op, x), n, act, stream());
}

void CudaBackend::adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* master,
                             const AdamWStep& s) {
  const int64_t n = param.numel();
  need("adamw", grad, n), need("adamw", m, n), need("adamw", v, n);
  if (master) {
    need("adamw", *master, n);
    TANDEM_CHECK(param.dtype() == DType::kBF16, "adamw: tensor ", param.name, " has an f32 master copy (",
                 master->name, ") but is ", dtype_str(param.dtype()), ", not bf16");
  }
  // A bf16 parameter is updated through its f32 master copy and becomes its rounding; without one, in place.
  Tensor& p = master ? *master : param;
  const cuda::AdamWArgs args{s.lr_step_size, s.beta1, s.beta2, s.eps, s.decay, s.bc2_sqrt, s.grad_scale};
  cuda::adamw_update(out("adamw", p), in("adamw", grad), out("adamw", m), out("adamw", v),
                     master ? out("adamw", param) : cuda::Out{}, n, args, stream());
}

}  // namespace tandem
