// The CPU backend: the templated kernels of src/kernels behind the Backend interface, OpenMP inside each kernel.
// Compute is f32 for f32 and bf16 storage (f64 for gradient checks). GEMM-bound ops with bf16 weights run bf16
// GEMMs natively (linear, the LM head). The ops of a layer (residual add, norms, RoPE, attention, activations) read
// bf16 activations and weights in place and round their bf16 outputs once, in the dtype mix the model gives them
// (cpu::native); any other mix goes through f32 copies (cpu::Args). Statistics, softmax and accumulation are f32
// whatever the storage.
#include <omp.h>

#include <cstring>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/cpu_args.h"
#include "backends/cpu/kernels/activation.h"
#include "backends/cpu/kernels/adamw.h"
#include "backends/cpu/kernels/attention.h"
#include "backends/cpu/kernels/attention_decode.h"
#include "backends/cpu/kernels/convert.h"
#include "backends/cpu/kernels/elementwise.h"
#include "backends/cpu/kernels/embedding.h"
#include "backends/cpu/kernels/layernorm.h"
#include "backends/cpu/kernels/linear.h"
#include "backends/cpu/kernels/logprobs.h"
#include "backends/cpu/kernels/lora.h"
#include "backends/cpu/kernels/rmsnorm.h"
#include "backends/cpu/kernels/rope.h"
#include "core/check.h"

namespace tandem {

namespace {

using cpu::Args;
using cpu::dispatch;
using cpu::ints;
using cpu::native;
using cpu::ScratchPool;

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu (OpenMP, " + std::to_string(omp_get_max_threads()) + " threads)"; }
  bool supports(DType t) const override { return t == DType::kF32 || t == DType::kBF16 || t == DType::kF64; }

  Device device() const override { return Device::kCpu; }
  void* alloc(size_t bytes) override { return host_allocator().alloc(bytes); }
  void free(void* p) override { host_allocator().free(p); }
  void copy(void* dst, const void* src, size_t n) override {
    const char* from = static_cast<const char*>(src);
    char* to = static_cast<char*>(dst);
    parallel_bytes(dst, n, [&](char* at, size_t len) { std::memcpy(at, from + (at - to), len); });
  }
  // An empty tensor's buffer is null, and memcpy with null is undefined even for 0 bytes.
  void upload(void* dst, const void* src, size_t n) override { if (n) std::memcpy(dst, src, n); }
  void download(void* dst, const void* src, size_t n) override { if (n) std::memcpy(dst, src, n); }
  void fill_zero(void* p, size_t n) override {
    parallel_bytes(p, n, [](char* at, size_t len) { std::memset(at, 0, len); });
  }

  void add(Tensor& out, const Tensor& a, const Tensor& b) override {
    need("add", a, out.numel()), need("add", b, out.numel());
    // Native: a in any storage, out and b in its compute type (a bf16 projection output joins the f32 residual).
    if (native(a.dtype(), {&a}, {&out, &b}, [&](auto s) {
          using S = decltype(s);
          add_forward(out.data<compute_t<S>>(), a.data<S>(), b.data<compute_t<S>>(), out.numel());
        }))
      return;
    binary("add", out, a, b, false, [](auto* o, auto* x, auto* y, int64_t n) { add_forward(o, x, y, n); });
  }
  void mul(Tensor& out, const Tensor& a, const Tensor& b) override {
    binary("mul", out, a, b, false, [](auto* o, auto* x, auto* y, int64_t n) { mul_forward(o, x, y, n); });
  }
  void add_mul(Tensor& acc, const Tensor& a, const Tensor& b) override {
    binary("add_mul", acc, a, b, true, [](auto* o, auto* x, auto* y, int64_t n) { tandem::add_mul(o, x, y, n); });
  }
  void scale(Tensor& t, double s) override {
    dispatch("scale", t.dtype(), [&](auto f) {
      using F = decltype(f);
      Args<F> x(pool_);
      scale_inplace(x.out(t, true), F(s), t.numel());
    });
  }
  double sum_squares(const Tensor& t) override {
    double out = 0;
    dispatch("sum_squares", t.dtype(), [&](auto f) {
      Args<decltype(f)> x(pool_);
      out = tandem::sum_squares(x.in(t), t.numel());
    });
    return out;
  }
  void tanh_softcap(Tensor& t, double cap) override {
    TANDEM_CHECK(cap > 0, "tanh_softcap: cap ", cap, " of tensor ", t.name, " must be > 0");
    const bool ok = native(t.dtype(), {&t}, {}, [&](auto s) {
      tandem::tanh_softcap(t.data<decltype(s)>(), cap, t.numel());
    });
    TANDEM_CHECK(ok, "cpu backend: op tanh_softcap has no ", dtype_str(t.dtype()), " kernel");
  }

  void embedding_forward(Tensor& out, const Tensor& ids, const Tensor& table) override {
    const int64_t n = ids.numel(), dim = table.dim(-1);
    need("embedding", out, n * dim);
    if (table.dtype() == DType::kBF16 && out.dtype() == DType::kF32) {  // no f32 copy of a 150k-row table
      tandem::embedding_forward(out.data<float>(), ids.data<int32_t>(), table.data<bf16>(), n, dim);
      return;
    }
    dispatch("embedding", table.dtype(), [&](auto f) {
      Args<decltype(f)> x(pool_);
      const auto* t = x.in(table);
      tandem::embedding_forward(x.out(out), ids.data<int32_t>(), t, n, dim);
    });
  }
  void embedding_backward(Tensor& dtable, const Tensor& ids, const Tensor& dout) override {
    const int64_t n = ids.numel(), dim = dtable.dim(-1);
    need("embedding_backward", dout, n * dim);
    dispatch("embedding_backward", dtable.dtype(), [&](auto f) {
      Args<decltype(f)> x(pool_);
      const auto* g = x.in(dout);
      tandem::embedding_backward(x.out(dtable, true), ids.data<int32_t>(), g, n, dim);
    });
  }

  void rmsnorm_forward(Tensor& out, Tensor& rstd, const Tensor& x, const Tensor& weight, int64_t rows, double eps,
                       double offset) override {
    const int64_t dim = weight.numel();
    need("rmsnorm", x, rows * dim), need("rmsnorm", out, rows * dim), need("rmsnorm", rstd, rows);
    // Native: out and weight in one storage, x in it too or in its compute type (the f32 residual stream).
    const bool x_stored = x.dtype() == weight.dtype();
    if (native(weight.dtype(), {&out, x_stored ? &x : nullptr}, {&rstd, x_stored ? nullptr : &x}, [&](auto s) {
          using S = decltype(s);
          using C = compute_t<S>;
          S* y = out.data<S>();
          const S* w = weight.data<S>();
          if (x_stored) tandem::rmsnorm_forward(y, rstd.data<C>(), x.data<S>(), w, rows, dim, eps, offset);
          else tandem::rmsnorm_forward(y, rstd.data<C>(), x.data<C>(), w, rows, dim, eps, offset);
        }))
      return;
    dispatch("rmsnorm", x.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *px = a.in(x), *pw = a.in(weight);
      tandem::rmsnorm_forward(a.out(out), a.out(rstd), px, pw, rows, dim, eps, offset);
    });
  }
  void rmsnorm_backward(Tensor& dx, Tensor* dweight, const Tensor& dout, const Tensor& x, const Tensor& weight,
                        const Tensor& rstd, int64_t rows, double offset) override {
    const int64_t dim = weight.numel();
    need("rmsnorm_backward", dx, rows * dim), need("rmsnorm_backward", dout, rows * dim);
    need("rmsnorm_backward", rstd, rows);
    const bool x_stored = x.dtype() == weight.dtype();
    if (native(weight.dtype(), {x_stored ? &x : nullptr}, {&dx, dweight, &dout, &rstd, x_stored ? nullptr : &x},
               [&](auto s) {
                 using S = decltype(s);
                 using C = compute_t<S>;
                 C* dw = dweight && !dweight->empty() ? dweight->data<C>() : nullptr;
                 if (x_stored)
                   tandem::rmsnorm_backward(dx.data<C>(), dw, dout.data<C>(), x.data<S>(), weight.data<S>(),
                                            rstd.data<C>(), rows, dim, offset);
                 else
                   tandem::rmsnorm_backward(dx.data<C>(), dw, dout.data<C>(), x.data<C>(), weight.data<S>(),
                                            rstd.data<C>(), rows, dim, offset);
               }))
      return;
    dispatch("rmsnorm_backward", x.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *g = a.in(dout), *px = a.in(x), *pw = a.in(weight), *pr = a.in(rstd);
      tandem::rmsnorm_backward(a.out(dx, true), a.out(dweight, true), g, px, pw, pr, rows, dim, offset);
    });
  }
  void layernorm_forward(Tensor& out, Tensor& mean, Tensor& rstd, const Tensor& x, const Tensor& weight,
                         const Tensor* bias, int64_t rows, double eps) override {
    const int64_t dim = weight.numel();
    need("layernorm", x, rows * dim), need("layernorm", out, rows * dim);
    need("layernorm", mean, rows), need("layernorm", rstd, rows);
    const Tensor* b = bias && !bias->empty() ? bias : nullptr;
    if (b) need("layernorm", *b, dim);
    // Native: out, weight and bias in one storage, x in it too or in its compute type (the f32 residual stream).
    const bool x_stored = x.dtype() == weight.dtype();
    if (native(weight.dtype(), {&out, b, x_stored ? &x : nullptr}, {&mean, &rstd, x_stored ? nullptr : &x},
               [&](auto s) {
                 using S = decltype(s);
                 using C = compute_t<S>;
                 const S *w = weight.data<S>(), *pb = b ? b->data<S>() : nullptr;
                 if (x_stored)
                   tandem::layernorm_forward(out.data<S>(), mean.data<C>(), rstd.data<C>(), x.data<S>(), w, pb, rows,
                                             dim, eps);
                 else
                   tandem::layernorm_forward(out.data<S>(), mean.data<C>(), rstd.data<C>(), x.data<C>(), w, pb, rows,
                                             dim, eps);
               }))
      return;
    dispatch("layernorm", x.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *px = a.in(x), *pw = a.in(weight), *pb = a.in(b);
      tandem::layernorm_forward(a.out(out), a.out(mean), a.out(rstd), px, pw, pb, rows, dim, eps);
    });
  }
  void layernorm_backward(Tensor& dx, Tensor* dweight, Tensor* dbias, const Tensor& dout, const Tensor& x,
                          const Tensor& weight, const Tensor& mean, const Tensor& rstd, int64_t rows) override {
    const int64_t dim = weight.numel();
    need("layernorm_backward", dx, rows * dim), need("layernorm_backward", dout, rows * dim);
    need("layernorm_backward", mean, rows), need("layernorm_backward", rstd, rows);
    Tensor* dw = dweight && !dweight->empty() ? dweight : nullptr;
    Tensor* db = dbias && !dbias->empty() ? dbias : nullptr;
    if (dw) need("layernorm_backward", *dw, dim);
    if (db) need("layernorm_backward", *db, dim);
    const bool x_stored = x.dtype() == weight.dtype();
    if (native(weight.dtype(), {x_stored ? &x : nullptr}, {&dx, dw, db, &dout, &mean, &rstd, x_stored ? nullptr : &x},
               [&](auto s) {
                 using S = decltype(s);
                 using C = compute_t<S>;
                 C *pdw = dw ? dw->data<C>() : nullptr, *pdb = db ? db->data<C>() : nullptr;
                 if (x_stored)
                   tandem::layernorm_backward(dx.data<C>(), pdw, pdb, dout.data<C>(), x.data<S>(), weight.data<S>(),
                                              mean.data<C>(), rstd.data<C>(), rows, dim);
                 else
                   tandem::layernorm_backward(dx.data<C>(), pdw, pdb, dout.data<C>(), x.data<C>(), weight.data<S>(),
                                              mean.data<C>(), rstd.data<C>(), rows, dim);
               }))
      return;
    dispatch("layernorm_backward", x.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *g = a.in(dout), *px = a.in(x), *pw = a.in(weight), *pm = a.in(mean), *pr = a.in(rstd);
      tandem::layernorm_backward(a.out(dx, true), a.out(dw, true), a.out(db, true), g, px, pw, pm, pr, rows, dim);
    });
  }

  void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* bias, int64_t rows) override {
    const int64_t out = w.dim(0), in = w.dim(1);
    need("linear", x, rows * in), need("linear", y, rows * out);
    if (bias && !bias->empty()) need("linear", *bias, out);
    if (w.dtype() == DType::kBF16) return linear_bf16(y, x, w, bias, rows);
    dispatch("linear", w.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *px = a.in(x), *pw = a.in(w), *pb = a.in(bias);
      tandem::linear_forward(a.out(y), px, pw, pb, rows, in, out);
    });
  }
  void linear_backward(Tensor* dx, Tensor* dw, Tensor* dbias, const Tensor& dy, const Tensor& x, const Tensor& w,
                       int64_t rows) override {
    const int64_t out = w.dim(0), in = w.dim(1);
    need("linear_backward", dy, rows * out), need("linear_backward", x, rows * in);
    if (dx) need("linear_backward", *dx, rows * in);
    if (w.dtype() == DType::kBF16) return linear_backward_bf16(dx, dw, dbias, dy, x, w, rows);
    dispatch("linear_backward", w.dtype(), [&](auto f) {
      using F = decltype(f);
      Args<F> a(pool_);
      const auto *g = a.in(dy), *px = a.in(x), *pw = a.in(w);
      tandem::linear_backward<F>(a.out(dx, true), a.out(dw, true), a.out(dbias, true), g, px, pw, rows, in, out);
    });
  }
  void lora_forward(Tensor& y, Tensor& h, const Tensor& x, const Tensor& a, const Tensor& b, int64_t rows,
                    double scale) override {
    const LoraShape s{rows, a.dim(1), b.dim(0), a.dim(0), scale};
    need("lora", x, rows * s.in), need("lora", y, rows * s.out), need("lora", h, rows * s.rank);
    dispatch("lora", a.dtype(), [&](auto f) {
      Args<decltype(f)> v(pool_);
      const auto *px = v.in(x), *pa = v.in(a), *pb = v.in(b);
      tandem::lora_forward(v.out(y, true), v.out(h), px, pa, pb, s);
    });
  }
  void lora_backward(Tensor* dx, Tensor& da, Tensor& db, const Tensor& dy, const Tensor& x, const Tensor& h,
                     const Tensor& a, const Tensor& b, int64_t rows, double scale) override {
    const LoraShape s{rows, a.dim(1), b.dim(0), a.dim(0), scale};
    need("lora_backward", dy, rows * s.out), need("lora_backward", h, rows * s.rank);
    if (dx) need("lora_backward", *dx, rows * s.in);
    dispatch("lora_backward", a.dtype(), [&](auto f) {
      Args<decltype(f)> v(pool_);
      const auto *g = v.in(dy), *px = v.in(x), *ph = v.in(h), *pa = v.in(a), *pb = v.in(b);
      tandem::lora_backward(v.out(dx, true), v.out(da, true), v.out(db, true), g, px, ph, pa, pb, s);
    });
  }

  void rope(Tensor& x, const Tensor& cos, const Tensor& sin, int64_t batch, int64_t seq, int64_t heads,
            const Tensor* positions, bool inverse) override {
    const int64_t half = cos.dim(-1), D = check_rope_args(x, cos, sin, batch, seq, heads, positions);
    if (D == 0) return;  // nothing to rotate
    const RopeView table{cos.data<float>(), sin.data<float>(), cos.dim(0), half};
    const bool ok = native(x.dtype(), {&x}, {}, [&](auto s) {
      auto* px = x.data<decltype(s)>();
      if (inverse) rope_backward(px, table, batch, seq, heads, D, ints(positions));
      else rope_forward(px, table, batch, seq, heads, D, ints(positions));
    });
    TANDEM_CHECK(ok, "cpu backend: op rope has no ", dtype_str(x.dtype()), " kernel");
  }

  void attention_forward(Tensor& out, Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                         const Tensor& lengths, const AttentionShape& s, const AttentionMaskTensors& m) override {
    check_attention_args("attention", q, k, v, lengths, s, m);
    need("attention", out, q.numel()), need("attention", lse, s.batch * s.heads * s.seq);
    const AttentionMask mask{ints(m.segment_start), ints(m.prefix_end)};
    if (native(q.dtype(), {&q, &k, &v, &out}, {&lse}, [&](auto t) {
          using S = decltype(t);
          tandem::attention_forward(out.data<S>(), lse.data<compute_t<S>>(), q.data<S>(), k.data<S>(), v.data<S>(),
                                    lengths.data<int32_t>(), s, mask);
        }))
      return;
    dispatch("attention", q.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *pq = a.in(q), *pk = a.in(k), *pv = a.in(v);
      tandem::attention_forward(a.out(out), a.out(lse), pq, pk, pv, lengths.data<int32_t>(), s, mask);
    });
  }
  void attention_backward(Tensor& dq, Tensor& dk, Tensor& dv, const Tensor& dout, const Tensor& out,
                          const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& lengths,
                          const AttentionShape& s, const AttentionMaskTensors& m) override {
    check_attention_args("attention_backward", q, k, v, lengths, s, m);
    need("attention_backward", dq, q.numel()), need("attention_backward", dk, k.numel());
    need("attention_backward", dv, v.numel()), need("attention_backward", dout, q.numel());
    const AttentionMask mask{ints(m.segment_start), ints(m.prefix_end)};
    if (native(q.dtype(), {&q, &k, &v, &out}, {&dq, &dk, &dv, &dout, &lse}, [&](auto t) {
          using S = decltype(t);
          using C = compute_t<S>;
          tandem::attention_backward(dq.data<C>(), dk.data<C>(), dv.data<C>(), dout.data<C>(), out.data<S>(),
                                     lse.data<C>(), q.data<S>(), k.data<S>(), v.data<S>(), lengths.data<int32_t>(),
                                     s, mask);
        }))
      return;
    dispatch("attention_backward", q.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *g = a.in(dout), *po = a.in(out), *pl = a.in(lse), *pq = a.in(q), *pk = a.in(k), *pv = a.in(v);
      tandem::attention_backward(a.out(dq, true), a.out(dk, true), a.out(dv, true), g, po, pl, pq, pk, pv,
                                 lengths.data<int32_t>(), s, mask);
    });
  }
  void attention_decode(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start,
                        int64_t n, int64_t heads, int64_t kv_heads, const AttentionScoring& scoring) override {
    const int64_t D = q.numel() / std::max<int64_t>(n * heads, 1);
    need("attention_decode", q, n * heads * D), need("attention_decode", out, n * heads * D);
    TANDEM_CHECK(k_cache.numel() >= (start + n) * kv_heads * D && v_cache.numel() == k_cache.numel(),
                 "attention_decode: caches ", k_cache.name, "/", v_cache.name, " hold fewer than ", start + n,
                 " positions");
    dispatch("attention_decode", q.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *pq = a.in(q), *pk = a.in(k_cache), *pv = a.in(v_cache);
      tandem::attention_decode(a.out(out), pq, pk, pv, start, n, heads, kv_heads, D, scoring);
    });
  }

  void glu_forward(Tensor& out, const Tensor& gate, const Tensor& up, Activation act) override {
    need("glu", gate, out.numel()), need("glu", up, out.numel());
    if (native(gate.dtype(), {&out, &gate, &up}, {}, [&](auto s) {
          using S = decltype(s);
          tandem::glu_forward(out.data<S>(), gate.data<S>(), up.data<S>(), out.numel(), act);
        }))
      return;
    dispatch("glu", gate.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *pg = a.in(gate), *pu = a.in(up);
      tandem::glu_forward(a.out(out), pg, pu, out.numel(), act);
    });
  }
  void glu_backward(Tensor& dgate, Tensor& dup, const Tensor& dout, const Tensor& gate, const Tensor& up,
                    Activation act) override {
    const int64_t n = gate.numel();
    need("glu_backward", dgate, n), need("glu_backward", dup, n), need("glu_backward", dout, n);
    need("glu_backward", up, n);
    if (native(gate.dtype(), {&gate, &up}, {&dgate, &dup, &dout}, [&](auto s) {
          using S = decltype(s);
          using C = compute_t<S>;
          tandem::glu_backward(dgate.data<C>(), dup.data<C>(), dout.data<C>(), gate.data<S>(), up.data<S>(), n, act);
        }))
      return;
    dispatch("glu_backward", gate.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *g = a.in(dout), *pg = a.in(gate), *pu = a.in(up);
      tandem::glu_backward(a.out(dgate, true), a.out(dup, true), g, pg, pu, n, act);
    });
  }
  void activation_forward(Tensor& out, const Tensor& x, Activation act) override {
    need("activation", x, out.numel());
    if (native(x.dtype(), {&out, &x}, {}, [&](auto s) {
          using S = decltype(s);
          tandem::activation_forward(out.data<S>(), x.data<S>(), out.numel(), act);
        }))
      return;
    dispatch("activation", x.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto* px = a.in(x);
      tandem::activation_forward(a.out(out), px, out.numel(), act);
    });
  }
  void activation_backward(Tensor& dx, const Tensor& dout, const Tensor& x, Activation act) override {
    const int64_t n = x.numel();
    need("activation_backward", dx, n), need("activation_backward", dout, n);
    if (native(x.dtype(), {&x}, {&dx, &dout}, [&](auto s) {
          using S = decltype(s);
          using C = compute_t<S>;
          tandem::activation_backward(dx.data<C>(), dout.data<C>(), x.data<S>(), n, act);
        }))
      return;
    dispatch("activation_backward", x.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);
      const auto *g = a.in(dout), *px = a.in(x);
      tandem::activation_backward(a.out(dx, true), g, px, n, act);
    });
  }

  void token_logprobs(Tensor* logp, Tensor* dx, Tensor* dw, const Tensor* grad, const Tensor& x, const Tensor& w,
                      const Tensor& row_index, const Tensor& target, int64_t chunk_rows, double softcap) override {
    const int64_t pairs = row_index.numel(), V = w.dim(0), D = w.dim(1);
    need("token_logprobs", target, pairs);
    if (logp) need("token_logprobs", *logp, pairs);
    if (grad) need("token_logprobs", *grad, pairs);
    if (dx) need("token_logprobs", *dx, x.numel());
    const LogprobShape shape{x.numel() / std::max<int64_t>(D, 1), D, V, chunk_rows, softcap};
    const ScoredPairs sp{row_index.data<int32_t>(), target.data<int32_t>(), pairs};
    if (w.dtype() == DType::kBF16) {  // bf16 GEMMs against the head; log-probs and gradients in f32
      Args<float> a(pool_);
      const bf16 *px = x.data<bf16>(), *pw = w.data<bf16>();
      if (!grad) return token_logprobs_forward(a.out(logp), px, pw, sp, shape, &ws_bf16_);
      return token_logprobs_backward(a.out(dx, true), a.out(dw, true), a.in(grad), px, pw, sp, shape, a.out(logp),
                                     &ws_bf16_);
    }
    dispatch("token_logprobs", w.dtype(), [&](auto f) {
      using F = decltype(f);
      Args<F> a(pool_);
      const F *px = a.in(x), *pw = a.in(w);
      if (!grad) token_logprobs_forward(a.out(logp), px, pw, sp, shape, workspace<F>());
      else
        token_logprobs_backward(a.out(dx, true), a.out(dw, true), a.in(grad), px, pw, sp, shape, a.out(logp),
                                workspace<F>());
    });
  }

  void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* master,
                  const AdamWStep& s) override {
    const int64_t n = param.numel();
    need("adamw", grad, n), need("adamw", m, n), need("adamw", v, n);
    Tensor& p = master ? *master : param;  // a bf16 parameter is updated through its f32 master copy
    if (master) need("adamw", *master, n);
    bf16* rounded = master ? param.data<bf16>() : nullptr;  // written in the update's pass
    dispatch("adamw", p.dtype(), [&](auto f) {
      Args<decltype(f)> a(pool_);  // a bf16 parameter without a master copy is rounded back after the update
      const auto* g = a.in(grad);
      adamw_update(a.out(p, true), g, a.out(m, true), a.out(v, true), n, s.lr_step_size, s.beta1, s.beta2, s.eps,
                   s.decay, s.bc2_sqrt, s.grad_scale, rounded);
    });
  }

 private:
  // out = kernel(a, b) elementwise over out's elements (accumulate: the kernel adds into out).
  template <typename Kernel>
  void binary(const char* op, Tensor& out, const Tensor& a, const Tensor& b, bool accumulate, Kernel kernel) {
    need(op, a, out.numel()), need(op, b, out.numel());
    dispatch(op, out.dtype(), [&](auto f) {
      Args<decltype(f)> x(pool_);
      const auto *pa = x.in(a), *pb = x.in(b);
      kernel(x.out(out, accumulate), pa, pb, out.numel());
    });
  }
  // fn over [p, p + n) in one slice per thread: one core's memset or memcpy does not saturate memory bandwidth, and
  // the whole gradient block is zeroed every step. Small ranges stay on the calling thread.
  template <typename Fn>
  static void parallel_bytes(void* p, size_t n, Fn&& fn) {
    char* base = static_cast<char*>(p);
    if (n == 0) return;  // an empty tensor: p is null
    if (n < (size_t{1} << 20)) return fn(base, n);
#pragma omp parallel
    {
      const size_t parts = size_t(omp_get_num_threads()), i = size_t(omp_get_thread_num());
      const size_t begin = n / parts * i, end = i + 1 == parts ? n : n / parts * (i + 1);
      fn(base + begin, end - begin);
    }
  }
  // bf16 weights: x must be bf16 (an f32 input is rounded once, as autocast does); y f32 or bf16.
  void linear_bf16(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* bias, int64_t rows) {
    const int64_t out = w.dim(0), in = w.dim(1);
    Args<float> a(pool_);
    const float* pb = a.in(bias);
    std::vector<bf16> rounded;
    const bf16* px = bf16_input(x, rounded);
    if (y.dtype() == DType::kBF16) linear_forward_bf16(y.data<bf16>(), px, w.data<bf16>(), pb, rows, in, out);
    else linear_forward_bf16(y.data<float>(), px, w.data<bf16>(), pb, rows, in, out);
  }
  void linear_backward_bf16(Tensor* dx, Tensor* dw, Tensor* dbias, const Tensor& dy, const Tensor& x,
                                   const Tensor& w, int64_t rows) {
    Args<float> a(pool_);
    std::vector<bf16> rounded;
    const bf16* px = bf16_input(x, rounded);
    const float* g = a.in(dy);
    tandem::linear_backward_bf16(a.out(dx, true), a.out(dw, true), a.out(dbias, true), g, px, w.data<bf16>(), rows,
                                 w.dim(1), w.dim(0));
  }
  static const bf16* bf16_input(const Tensor& x, std::vector<bf16>& rounded) {
    if (x.dtype() == DType::kBF16) return x.data<bf16>();
    rounded.resize(size_t(x.numel()));
    f32_to_bf16(rounded.data(), x.data<float>(), x.numel());
    return rounded.data();
  }
  template <typename F>
  LogprobWorkspace<F>* workspace() {
    if constexpr (std::is_same_v<F, float>) return &ws_f32_;
    else return &ws_f64_;
  }
  // Logit scratch kept between steps: re-allocating tens of MB every step costs page faults.
  LogprobWorkspace<float> ws_f32_;
  LogprobWorkspace<double> ws_f64_;
  LogprobWorkspace<bf16> ws_bf16_;
  ScratchPool pool_;
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend b;
  return b;
}

}  // namespace tandem
