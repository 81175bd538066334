// A backend whose memory the host must not touch: it reports itself as a GPU (Device::kCuda), so any code that
// reads a tensor through a host pointer (Tensor::data<T>) fails, and it moves bytes only through its allocator
// (upload, download, copy), as a real device. Each op downloads its arguments, runs the CPU backend's op on the
// host copies and uploads what the op wrote: the results are the CPU backend's bit for bit. This is how the tests
// prove, without a GPU, that training, checkpoints, resume and generation never read device memory directly and
// that a run on a device equals the same run on the CPU.
#pragma once
#include <cstring>
#include <exception>
#include <list>
#include <string>

#include "backends/backend.h"
#include "core/check.h"

namespace tandem::testing {

class EmulatedDevice final : public Backend {
 public:
  std::string name() const override { return "emulated device (CPU kernels behind device-only memory)"; }
  bool supports(DType t) const override { return t == DType::kF32 || t == DType::kBF16; }

  Device device() const override { return Device::kCuda; }
  void* alloc(size_t bytes) override {
    ++allocations;
    return host_allocator().alloc(bytes);
  }
  void free(void* p) override { host_allocator().free(p); }
  void copy(void* dst, const void* src, size_t n) override { std::memmove(dst, src, n); }
  void upload(void* dst, const void* src, size_t n) override {
    uploaded_bytes += int64_t(n);
    std::memcpy(dst, src, n);
  }
  void download(void* dst, const void* src, size_t n) override {
    downloaded_bytes += int64_t(n);
    std::memcpy(dst, src, n);
  }
  void fill_zero(void* p, size_t n) override { std::memset(p, 0, n); }

  int64_t allocations = 0, uploaded_bytes = 0, downloaded_bytes = 0;

  void add(Tensor& out, const Tensor& a, const Tensor& b) override {
    Staged s(this);
    cpu().add(s.out(out), s.in(a), s.in(b));
  }
  void mul(Tensor& out, const Tensor& a, const Tensor& b) override {
    Staged s(this);
    cpu().mul(s.out(out), s.in(a), s.in(b));
  }
  void add_mul(Tensor& acc, const Tensor& a, const Tensor& b) override {
    Staged s(this);
    cpu().add_mul(s.out(acc), s.in(a), s.in(b));
  }
  void scale(Tensor& x, double v) override {
    Staged s(this);
    cpu().scale(s.out(x), v);
  }
  double sum_squares(const Tensor& x) override {
    Staged s(this);
    return cpu().sum_squares(s.in(x));
  }
  void tanh_softcap(Tensor& x, double cap) override {
    Staged s(this);
    cpu().tanh_softcap(s.out(x), cap);
  }
  void embedding_forward(Tensor& out, const Tensor& ids, const Tensor& table) override {
    Staged s(this);
    cpu().embedding_forward(s.out(out), s.in(ids), s.in(table));
  }
  void embedding_backward(Tensor& dtable, const Tensor& ids, const Tensor& dout) override {
    Staged s(this);
    cpu().embedding_backward(s.out(dtable), s.in(ids), s.in(dout));
  }
  void rmsnorm_forward(Tensor& out, Tensor& rstd, const Tensor& x, const Tensor& w, int64_t rows, double eps,
                       double offset) override {
    Staged s(this);
    cpu().rmsnorm_forward(s.out(out), s.out(rstd), s.in(x), s.in(w), rows, eps, offset);
  }
  void rmsnorm_backward(Tensor& dx, Tensor* dw, const Tensor& dout, const Tensor& x, const Tensor& w,
                        const Tensor& rstd, int64_t rows, double offset) override {
    Staged s(this);
    cpu().rmsnorm_backward(s.out(dx), s.out(dw), s.in(dout), s.in(x), s.in(w), s.in(rstd), rows, offset);
  }
  void layernorm_forward(Tensor& out, Tensor& mean, Tensor& rstd, const Tensor& x, const Tensor& w, const Tensor* b,
                         int64_t rows, double eps) override {
    Staged s(this);
    cpu().layernorm_forward(s.out(out), s.out(mean), s.out(rstd), s.in(x), s.in(w), s.in(b), rows, eps);
  }
  void layernorm_backward(Tensor& dx, Tensor* dw, Tensor* db, const Tensor& dout, const Tensor& x, const Tensor& w,
                          const Tensor& mean, const Tensor& rstd, int64_t rows) override {
    Staged s(this);
    cpu().layernorm_backward(s.out(dx), s.out(dw), s.out(db), s.in(dout), s.in(x), s.in(w), s.in(mean), s.in(rstd),
                             rows);
  }
  void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* bias, int64_t rows) override {
    Staged s(this);
    cpu().linear_forward(s.out(y), s.in(x), s.in(w), s.in(bias), rows);
  }
  void linear_backward(Tensor* dx, Tensor* dw, Tensor* db, const Tensor& dy, const Tensor& x, const Tensor& w,
                       int64_t rows) override {
    Staged s(this);
    cpu().linear_backward(s.out(dx), s.out(dw), s.out(db), s.in(dy), s.in(x), s.in(w), rows);
  }
  void lora_forward(Tensor& y, Tensor& h, const Tensor& x, const Tensor& a, const Tensor& b, int64_t rows,
                    double scale) override {
    Staged s(this);
    cpu().lora_forward(s.out(y), s.out(h), s.in(x), s.in(a), s.in(b), rows, scale);
  }
  void lora_backward(Tensor* dx, Tensor& da, Tensor& db, const Tensor& dy, const Tensor& x, const Tensor& h,
                     const Tensor& a, const Tensor& b, int64_t rows, double scale) override {
    Staged s(this);
    cpu().lora_backward(s.out(dx), s.out(da), s.out(db), s.in(dy), s.in(x), s.in(h), s.in(a), s.in(b), rows, scale);
  }
  void rope(Tensor& x, const Tensor& cos, const Tensor& sin, int64_t batch, int64_t seq, int64_t heads,
            const Tensor* positions, bool inverse) override {
    Staged s(this);
    cpu().rope(s.out(x), s.in(cos), s.in(sin), batch, seq, heads, s.in(positions), inverse);
  }
  void attention_forward(Tensor& out, Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                         const Tensor& lengths, const AttentionShape& sh, const AttentionMaskTensors& m) override {
    Staged s(this);
    cpu().attention_forward(s.out(out), s.out(lse), s.in(q), s.in(k), s.in(v), s.in(lengths), sh, s.mask(m));
  }
  void attention_backward(Tensor& dq, Tensor& dk, Tensor& dv, const Tensor& dout, const Tensor& out, const Tensor& lse,
                          const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& lengths,
                          const AttentionShape& sh, const AttentionMaskTensors& m) override {
    Staged s(this);
    cpu().attention_backward(s.out(dq), s.out(dk), s.out(dv), s.in(dout), s.in(out), s.in(lse), s.in(q), s.in(k),
                             s.in(v), s.in(lengths), sh, s.mask(m));
  }
  void attention_decode(Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, int64_t start, int64_t n,
                        int64_t heads, int64_t kv_heads, const AttentionScoring& sc) override {
    Staged s(this);
    cpu().attention_decode(s.out(out), s.in(q), s.in(k), s.in(v), start, n, heads, kv_heads, sc);
  }
  void glu_forward(Tensor& out, const Tensor& gate, const Tensor& up, Activation act) override {
    Staged s(this);
    cpu().glu_forward(s.out(out), s.in(gate), s.in(up), act);
  }
  void glu_backward(Tensor& dgate, Tensor& dup, const Tensor& dout, const Tensor& gate, const Tensor& up,
                    Activation act) override {
    Staged s(this);
    cpu().glu_backward(s.out(dgate), s.out(dup), s.in(dout), s.in(gate), s.in(up), act);
  }
  void activation_forward(Tensor& out, const Tensor& x, Activation act) override {
    Staged s(this);
    cpu().activation_forward(s.out(out), s.in(x), act);
  }
  void activation_backward(Tensor& dx, const Tensor& dout, const Tensor& x, Activation act) override {
    Staged s(this);
    cpu().activation_backward(s.out(dx), s.in(dout), s.in(x), act);
  }
  void token_logprobs(Tensor* logp, Tensor* dx, Tensor* dw, const Tensor* grad, const Tensor& x, const Tensor& w,
                      const Tensor& rows, const Tensor& target, int64_t chunk_rows, double softcap) override {
    Staged s(this);
    cpu().token_logprobs(s.out(logp), s.out(dx), s.out(dw), s.in(grad), s.in(x), s.in(w), s.in(rows), s.in(target),
                         chunk_rows, softcap);
  }
  void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* master,
                  const AdamWStep& step) override {
    Staged s(this);
    cpu().adamw_step(s.out(param), s.in(grad), s.out(m), s.out(v), s.out(master), step);
  }

 private:
  static Backend& cpu() { return cpu_backend(); }

  // Host copies of one op's arguments; the copies of written arguments are uploaded back when the op ends (read
  // first: backward ops add into them). Arguments must be on this device: a host tensor here is a caller's bug.
  class Staged {
   public:
    explicit Staged(EmulatedDevice* device) : device_(device), exceptions_(std::uncaught_exceptions()) {}
    Staged(const Staged&) = delete;
    Staged& operator=(const Staged&) = delete;
    ~Staged() noexcept(false) {
      if (std::uncaught_exceptions() > exceptions_) return;  // the op failed: its error is the one to report
      for (auto& [device_tensor, host] : written_) device_tensor->copy_from(host);
    }
    const Tensor& in(const Tensor& t) { return host_copy(t); }
    const Tensor* in(const Tensor* t) { return t ? &host_copy(*t) : nullptr; }
    Tensor& out(Tensor& t) {
      Tensor& h = host_copy(t);
      written_.emplace_back(&t, std::move(h));
      read_.pop_back();
      return written_.back().second;
    }
    Tensor* out(Tensor* t) { return t ? &out(*t) : nullptr; }
    AttentionMaskTensors mask(const AttentionMaskTensors& m) { return {in(m.segment_start), in(m.prefix_end)}; }

   private:
    Tensor& host_copy(const Tensor& t) {
      TANDEM_CHECK(t.empty() || t.allocator() == device_, "emulated device: tensor ", t.name, " is on ",
                   device_str(t.device()), ", not on this device");
      return read_.emplace_back(t.to(t.dtype(), nullptr));
    }
    EmulatedDevice* device_;
    int exceptions_;
    std::list<Tensor> read_;
    std::list<std::pair<Tensor*, Tensor>> written_;
  };
};

}  // namespace tandem::testing
