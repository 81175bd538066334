// The CPU backend: the templated kernels of src/kernels behind the Backend interface, OpenMP inside each kernel.
// f32 is the engine's type, f64 serves gradient checks; each op checks its tensors' dtypes and sizes.
#include <omp.h>

#include <cstring>

#include "backends/backend.h"
#include "core/check.h"
#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/attention_decode.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/logprobs.h"
#include "kernels/lora.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/swiglu.h"

namespace tandem {

namespace {

// Runs fn(F{}) with F the compute type of `t`, or names the op and dtype the CPU backend lacks.
template <typename Fn>
void dispatch(const char* op, DType t, Fn&& fn) {
  switch (t) {
    case DType::kF32: fn(float{}); return;
    case DType::kF64: fn(double{}); return;
    default: fail("cpu backend: op ", op, " has no ", dtype_str(t), " kernel");
  }
}

void need(const char* op, const Tensor& t, int64_t numel) {
  TANDEM_CHECK(t.numel() == numel, op, ": tensor ", t.name, " has ", t.numel(), " elements (shape ",
               shape_str(t.shape), "), expected ", numel);
}

template <typename F>
F* opt(Tensor* t) {
  return t && !t->empty() ? t->data<F>() : nullptr;
}
template <typename F>
const F* opt(const Tensor* t) {
  return t && !t->empty() ? t->data<F>() : nullptr;
}
const int32_t* ints(const Tensor* t) { return t && !t->empty() ? t->data<int32_t>() : nullptr; }

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu (OpenMP, " + std::to_string(omp_get_max_threads()) + " threads)"; }
  bool supports(DType t) const override { return t == DType::kF32 || t == DType::kF64; }

  Device device() const override { return Device::kCpu; }
  void* alloc(size_t bytes) override { return host_allocator().alloc(bytes); }
  void free(void* p) override { host_allocator().free(p); }
  void copy(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void upload(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void download(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void fill_zero(void* p, size_t n) override { std::memset(p, 0, n); }

  void add(Tensor& out, const Tensor& a, const Tensor& b) override {
    need("add", a, out.numel()), need("add", b, out.numel());
    dispatch("add", out.dtype(), [&](auto f) {
      using F = decltype(f);
      add_forward(out.data<F>(), a.data<F>(), b.data<F>(), out.numel());
    });
  }
  void mul(Tensor& out, const Tensor& a, const Tensor& b) override {
    need("mul", a, out.numel()), need("mul", b, out.numel());
    dispatch("mul", out.dtype(), [&](auto f) {
      using F = decltype(f);
      mul_forward(out.data<F>(), a.data<F>(), b.data<F>(), out.numel());
    });
  }
  void add_mul(Tensor& acc, const Tensor& a, const Tensor& b) override {
    need("add_mul", a, acc.numel()), need("add_mul", b, acc.numel());
    dispatch("add_mul", acc.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::add_mul(acc.data<F>(), a.data<F>(), b.data<F>(), acc.numel());
    });
  }
  void scale(Tensor& x, double s) override {
    dispatch("scale", x.dtype(), [&](auto f) {
      using F = decltype(f);
      scale_inplace(x.data<F>(), F(s), x.numel());
    });
  }
  double sum_squares(const Tensor& x) override {
    double out = 0;
    dispatch("sum_squares", x.dtype(), [&](auto f) {
      using F = decltype(f);
      out = tandem::sum_squares(x.data<F>(), x.numel());
    });
    return out;
  }

  void embedding_forward(Tensor& out, const Tensor& ids, const Tensor& table) override {
    const int64_t n = ids.numel(), dim = table.dim(-1);
    need("embedding", out, n * dim);
    dispatch("embedding", table.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::embedding_forward(out.data<F>(), ids.data<int32_t>(), table.data<F>(), n, dim);
    });
  }
  void embedding_backward(Tensor& dtable, const Tensor& ids, const Tensor& dout) override {
    const int64_t n = ids.numel(), dim = dtable.dim(-1);
    need("embedding_backward", dout, n * dim);
    dispatch("embedding_backward", dtable.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::embedding_backward(dtable.data<F>(), ids.data<int32_t>(), dout.data<F>(), n, dim);
    });
  }

  void rmsnorm_forward(Tensor& out, Tensor& rstd, const Tensor& x, const Tensor& weight, int64_t rows,
                       double eps) override {
    const int64_t dim = weight.numel();
    need("rmsnorm", x, rows * dim), need("rmsnorm", out, rows * dim), need("rmsnorm", rstd, rows);
    dispatch("rmsnorm", x.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::rmsnorm_forward(out.data<F>(), rstd.data<F>(), x.data<F>(), weight.data<F>(), rows, dim, eps);
    });
  }
  void rmsnorm_backward(Tensor& dx, Tensor* dweight, const Tensor& dout, const Tensor& x, const Tensor& weight,
                        const Tensor& rstd, int64_t rows) override {
    const int64_t dim = weight.numel();
    need("rmsnorm_backward", dx, rows * dim), need("rmsnorm_backward", dout, rows * dim);
    need("rmsnorm_backward", rstd, rows);
    dispatch("rmsnorm_backward", x.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::rmsnorm_backward(dx.data<F>(), opt<F>(dweight), dout.data<F>(), x.data<F>(), weight.data<F>(),
                               rstd.data<F>(), rows, dim);
    });
  }

  void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* bias, int64_t rows) override {
    const int64_t out = w.dim(0), in = w.dim(1);
    need("linear", x, rows * in), need("linear", y, rows * out);
    if (bias && !bias->empty()) need("linear", *bias, out);
    dispatch("linear", x.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::linear_forward(y.data<F>(), x.data<F>(), w.data<F>(), opt<F>(bias), rows, in, out);
    });
  }
  void linear_backward(Tensor* dx, Tensor* dw, Tensor* dbias, const Tensor& dy, const Tensor& x, const Tensor& w,
                       int64_t rows) override {
    const int64_t out = w.dim(0), in = w.dim(1);
    need("linear_backward", dy, rows * out), need("linear_backward", x, rows * in);
    if (dx) need("linear_backward", *dx, rows * in);
    dispatch("linear_backward", x.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::linear_backward<F>(opt<F>(dx), opt<F>(dw), opt<F>(dbias), dy.data<F>(), x.data<F>(), w.data<F>(),
                                 rows, in, out);
    });
  }
  void lora_forward(Tensor& y, Tensor& h, const Tensor& x, const Tensor& a, const Tensor& b, int64_t rows,
                    double scale) override {
    const LoraShape s{rows, a.dim(1), b.dim(0), a.dim(0), scale};
    need("lora", x, rows * s.in), need("lora", y, rows * s.out), need("lora", h, rows * s.rank);
    dispatch("lora", x.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::lora_forward(y.data<F>(), h.data<F>(), x.data<F>(), a.data<F>(), b.data<F>(), s);
    });
  }
  void lora_backward(Tensor* dx, Tensor& da, Tensor& db, const Tensor& dy, const Tensor& x, const Tensor& h,
                     const Tensor& a, const Tensor& b, int64_t rows, double scale) override {
    const LoraShape s{rows, a.dim(1), b.dim(0), a.dim(0), scale};
    need("lora_backward", dy, rows * s.out), need("lora_backward", h, rows * s.rank);
    if (dx) need("lora_backward", *dx, rows * s.in);
    dispatch("lora_backward", x.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::lora_backward(opt<F>(dx), da.data<F>(), db.data<F>(), dy.data<F>(), x.data<F>(), h.data<F>(),
                            a.data<F>(), b.data<F>(), s);
    });
  }

  void rope(Tensor& x, const Tensor& cos, const Tensor& sin, int64_t batch, int64_t seq, int64_t heads,
            const Tensor* positions, bool inverse) override {
    const int64_t half = cos.dim(-1), D = 2 * half;
    need("rope", x, batch * seq * heads * D), need("rope", sin, cos.numel());
    if (positions) need("rope", *positions, batch * seq);
    const RopeView table{cos.data<float>(), sin.data<float>(), cos.dim(0), half};
    dispatch("rope", x.dtype(), [&](auto f) {
      using F = decltype(f);
      if (inverse) rope_backward(x.data<F>(), table, batch, seq, heads, D, ints(positions));
      else rope_forward(x.data<F>(), table, batch, seq, heads, D, ints(positions));
    });
  }

  void attention_forward(Tensor& out, Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                         const Tensor& lengths, const AttentionShape& s, const AttentionMaskTensors& m) override {
    check_attention("attention", q, k, v, lengths, s, m);
    need("attention", out, q.numel()), need("attention", lse, s.batch * s.heads * s.seq);
    dispatch("attention", q.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::attention_forward(out.data<F>(), lse.data<F>(), q.data<F>(), k.data<F>(), v.data<F>(),
                                lengths.data<int32_t>(), s, {ints(m.segment_start), ints(m.prefix_end)});
    });
  }
  void attention_backward(Tensor& dq, Tensor& dk, Tensor& dv, const Tensor& dout, const Tensor& out,
                          const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& lengths,
                          const AttentionShape& s, const AttentionMaskTensors& m) override {
    check_attention("attention_backward", q, k, v, lengths, s, m);
    need("attention_backward", dq, q.numel()), need("attention_backward", dk, k.numel());
    need("attention_backward", dv, v.numel()), need("attention_backward", dout, q.numel());
    dispatch("attention_backward", q.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::attention_backward(dq.data<F>(), dk.data<F>(), dv.data<F>(), dout.data<F>(), out.data<F>(),
                                 lse.data<F>(), q.data<F>(), k.data<F>(), v.data<F>(), lengths.data<int32_t>(), s,
                                 {ints(m.segment_start), ints(m.prefix_end)});
    });
  }
  void attention_decode(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start,
                        int64_t n, int64_t heads, int64_t kv_heads) override {
    const int64_t D = q.numel() / std::max<int64_t>(n * heads, 1);
    need("attention_decode", q, n * heads * D), need("attention_decode", out, n * heads * D);
    TANDEM_CHECK(k_cache.numel() >= (start + n) * kv_heads * D && v_cache.numel() == k_cache.numel(),
                 "attention_decode: caches ", k_cache.name, "/", v_cache.name, " hold fewer than ", start + n,
                 " positions");
    dispatch("attention_decode", q.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::attention_decode(out.data<F>(), q.data<F>(), k_cache.data<F>(), v_cache.data<F>(), start, n, heads,
                               kv_heads, D);
    });
  }

  void swiglu_forward(Tensor& out, const Tensor& gate, const Tensor& up) override {
    need("swiglu", gate, out.numel()), need("swiglu", up, out.numel());
    dispatch("swiglu", out.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::swiglu_forward(out.data<F>(), gate.data<F>(), up.data<F>(), out.numel());
    });
  }
  void swiglu_backward(Tensor& dgate, Tensor& dup, const Tensor& dout, const Tensor& gate,
                       const Tensor& up) override {
    const int64_t n = gate.numel();
    need("swiglu_backward", dgate, n), need("swiglu_backward", dup, n), need("swiglu_backward", dout, n);
    need("swiglu_backward", up, n);
    dispatch("swiglu_backward", gate.dtype(), [&](auto f) {
      using F = decltype(f);
      tandem::swiglu_backward(dgate.data<F>(), dup.data<F>(), dout.data<F>(), gate.data<F>(), up.data<F>(), n);
    });
  }

  void token_logprobs(Tensor* logp, Tensor* dx, Tensor* dw, const Tensor* grad, const Tensor& x, const Tensor& w,
                      const Tensor& row_index, const Tensor& target, int64_t chunk_rows) override {
    const int64_t pairs = row_index.numel(), V = w.dim(0), D = w.dim(1);
    need("token_logprobs", target, pairs);
    if (logp) need("token_logprobs", *logp, pairs);
    if (grad) need("token_logprobs", *grad, pairs);
    if (dx) need("token_logprobs", *dx, x.numel());
    const LogprobShape shape{x.numel() / std::max<int64_t>(D, 1), D, V, chunk_rows};
    const ScoredPairs sp{row_index.data<int32_t>(), target.data<int32_t>(), pairs};
    dispatch("token_logprobs", x.dtype(), [&](auto f) {
      using F = decltype(f);
      LogprobWorkspace<F>* ws = workspace<F>();
      if (!grad) token_logprobs_forward(opt<F>(logp), x.data<F>(), w.data<F>(), sp, shape, ws);
      else
        token_logprobs_backward(opt<F>(dx), opt<F>(dw), grad->data<F>(), x.data<F>(), w.data<F>(), sp, shape,
                                opt<F>(logp), ws);
    });
  }

  void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamWStep& s) override {
    const int64_t n = param.numel();
    need("adamw", grad, n), need("adamw", m, n), need("adamw", v, n);
    dispatch("adamw", param.dtype(), [&](auto f) {
      using F = decltype(f);
      adamw_update(param.data<F>(), grad.data<F>(), m.data<F>(), v.data<F>(), n, s.lr_step_size, s.beta1, s.beta2,
                   s.eps, s.decay, s.bc2_sqrt, s.grad_scale);
    });
  }

 private:
  static void check_attention(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& lengths, const AttentionShape& s, const AttentionMaskTensors& m) {
    const int64_t tokens = s.batch * s.seq;
    need(op, q, tokens * s.heads * s.head_dim), need(op, k, tokens * s.kv_heads * s.head_dim);
    need(op, v, k.numel()), need(op, lengths, s.batch);
    if (m.segment_start) need(op, *m.segment_start, tokens);
    if (m.prefix_end) need(op, *m.prefix_end, tokens);
  }
  template <typename F>
  LogprobWorkspace<F>* workspace() {
    if constexpr (std::is_same_v<F, float>) return &ws_f32_;
    else return &ws_f64_;
  }
  // Logit scratch kept between steps: re-allocating tens of MB every step costs page faults.
  LogprobWorkspace<float> ws_f32_;
  LogprobWorkspace<double> ws_f64_;
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend b;
  return b;
}

}  // namespace tandem
