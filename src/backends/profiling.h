// A backend that forwards every call to another one, timing each op and counting the bytes allocated through it:
// where a step's time goes (`bench_step --profile`; wall seconds, as CPU ops are synchronous) and what it holds at
// its peak (the memory plan's test). Tensors allocated through it find it again through backend_of(), so the
// optimizer's ops and state are counted too.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/backend.h"

namespace tandem {

class ProfilingBackend final : public Backend {
 public:
  explicit ProfilingBackend(Backend& inner) : in_(inner) {}

  void reset() { seconds_.clear(), peak_bytes_ = live_bytes_; }
  int64_t live_bytes() const { return live_bytes_; }
  int64_t peak_bytes() const { return peak_bytes_; }  // the most held at once since construction or reset()
  // Prints each op's time per step and share of all op time, largest first.
  void report(double step_seconds, int64_t steps) {
    std::vector<std::pair<double, std::string>> rows;
    double total = 0;
    for (const auto& [op, s] : seconds_) rows.emplace_back(s, op), total += s;
    std::sort(rows.rbegin(), rows.rend());
    std::printf("op profile: %.1f ms of ops per step, %.1f ms per step in all (the rest: the model's own work); "
                "at most %.1f MiB held through the backend\n",
                1e3 * total / double(steps), 1e3 * step_seconds, double(peak_bytes_) / (1 << 20));
    for (const auto& [s, op] : rows)
      std::printf("  %-22s %8.2f ms  %5.1f%%\n", op.c_str(), 1e3 * s / double(steps), 100.0 * s / total);
  }

  std::string name() const override { return "profiled " + in_.name(); }
  bool supports(DType t) const override { return in_.supports(t); }
  Device device() const override { return in_.device(); }
  void* alloc(size_t bytes) override {
    void* p = in_.alloc(bytes);
    sizes_[p] = bytes;
    live_bytes_ += int64_t(bytes);
    peak_bytes_ = std::max(peak_bytes_, live_bytes_);
    return p;
  }
  void free(void* p) override {
    live_bytes_ -= int64_t(sizes_[p]);
    sizes_.erase(p);
    in_.free(p);
  }
  void copy(void* d, const void* s, size_t n) override { time("copy", [&] { in_.copy(d, s, n); }); }
  void upload(void* d, const void* s, size_t n) override { time("upload", [&] { in_.upload(d, s, n); }); }
  void download(void* d, const void* s, size_t n) override { time("download", [&] { in_.download(d, s, n); }); }
  void fill_zero(void* p, size_t n) override { time("fill_zero", [&] { in_.fill_zero(p, n); }); }

  void add(Tensor& o, const Tensor& a, const Tensor& b) override { time("add", [&] { in_.add(o, a, b); }); }
  void mul(Tensor& o, const Tensor& a, const Tensor& b) override { time("mul", [&] { in_.mul(o, a, b); }); }
  void add_mul(Tensor& acc, const Tensor& a, const Tensor& b) override {
    time("add_mul", [&] { in_.add_mul(acc, a, b); });
  }
  void scale(Tensor& x, double s) override { time("scale", [&] { in_.scale(x, s); }); }
  double sum_squares(const Tensor& x) override {
    double r = 0;
    time("sum_squares", [&] { r = in_.sum_squares(x); });
    return r;
  }
  void tanh_softcap(Tensor& x, double cap) override { time("tanh_softcap", [&] { in_.tanh_softcap(x, cap); }); }
  void embedding_forward(Tensor& o, const Tensor& ids, const Tensor& t) override {
    time("embedding_forward", [&] { in_.embedding_forward(o, ids, t); });
  }
  void embedding_backward(Tensor& dt, const Tensor& ids, const Tensor& dout) override {
    time("embedding_backward", [&] { in_.embedding_backward(dt, ids, dout); });
  }
  void rmsnorm_forward(Tensor& o, Tensor& rstd, const Tensor& x, const Tensor& w, int64_t rows, double eps,
                       double offset) override {
    time("rmsnorm_forward", [&] { in_.rmsnorm_forward(o, rstd, x, w, rows, eps, offset); });
  }
  void rmsnorm_backward(Tensor& dx, Tensor* dw, const Tensor& dout, const Tensor& x, const Tensor& w,
                        const Tensor& rstd, int64_t rows, double offset) override {
    time("rmsnorm_backward", [&] { in_.rmsnorm_backward(dx, dw, dout, x, w, rstd, rows, offset); });
  }
  void layernorm_forward(Tensor& o, Tensor& mean, Tensor& rstd, const Tensor& x, const Tensor& w, const Tensor* b,
                         int64_t rows, double eps) override {
    time("layernorm_forward", [&] { in_.layernorm_forward(o, mean, rstd, x, w, b, rows, eps); });
  }
  void layernorm_backward(Tensor& dx, Tensor* dw, Tensor* db, const Tensor& dout, const Tensor& x, const Tensor& w,
                          const Tensor& mean, const Tensor& rstd, int64_t rows) override {
    time("layernorm_backward", [&] { in_.layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, rows); });
  }
  void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* bias, int64_t rows) override {
    time("linear_forward", [&] { in_.linear_forward(y, x, w, bias, rows); });
  }
  void linear_backward(Tensor* dx, Tensor* dw, Tensor* db, const Tensor& dy, const Tensor& x, const Tensor& w,
                       int64_t rows) override {
    time("linear_backward", [&] { in_.linear_backward(dx, dw, db, dy, x, w, rows); });
  }
  void lora_forward(Tensor& y, Tensor& h, const Tensor& x, const Tensor& a, const Tensor& b, int64_t rows,
                    double s) override {
    time("lora_forward", [&] { in_.lora_forward(y, h, x, a, b, rows, s); });
  }
  void lora_backward(Tensor* dx, Tensor& da, Tensor& db, const Tensor& dy, const Tensor& x, const Tensor& h,
                     const Tensor& a, const Tensor& b, int64_t rows, double s) override {
    time("lora_backward", [&] { in_.lora_backward(dx, da, db, dy, x, h, a, b, rows, s); });
  }
  void rope(Tensor& x, const Tensor& cos, const Tensor& sin, int64_t batch, int64_t seq, int64_t heads,
            const Tensor* positions, bool inverse) override {
    time("rope", [&] { in_.rope(x, cos, sin, batch, seq, heads, positions, inverse); });
  }
  void attention_forward(Tensor& o, Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                         const Tensor& len, const AttentionShape& s, const AttentionMaskTensors& m) override {
    time("attention_forward", [&] { in_.attention_forward(o, lse, q, k, v, len, s, m); });
  }
  void attention_backward(Tensor& dq, Tensor& dk, Tensor& dv, const Tensor& dout, const Tensor& out,
                          const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& len,
                          const AttentionShape& s, const AttentionMaskTensors& m) override {
    time("attention_backward", [&] { in_.attention_backward(dq, dk, dv, dout, out, lse, q, k, v, len, s, m); });
  }
  void attention_decode(Tensor& o, const Tensor& q, const Tensor& kc, const Tensor& vc, int64_t start, int64_t n,
                        int64_t heads, int64_t kv_heads, const AttentionScoring& sc) override {
    time("attention_decode", [&] { in_.attention_decode(o, q, kc, vc, start, n, heads, kv_heads, sc); });
  }
  void glu_forward(Tensor& o, const Tensor& g, const Tensor& u, Activation act) override {
    time("glu_forward", [&] { in_.glu_forward(o, g, u, act); });
  }
  void glu_backward(Tensor& dg, Tensor& du, const Tensor& dout, const Tensor& g, const Tensor& u,
                    Activation act) override {
    time("glu_backward", [&] { in_.glu_backward(dg, du, dout, g, u, act); });
  }
  void activation_forward(Tensor& o, const Tensor& x, Activation act) override {
    time("activation_forward", [&] { in_.activation_forward(o, x, act); });
  }
  void activation_backward(Tensor& dx, const Tensor& dout, const Tensor& x, Activation act) override {
    time("activation_backward", [&] { in_.activation_backward(dx, dout, x, act); });
  }
  void token_logprobs(Tensor* logp, Tensor* dx, Tensor* dw, const Tensor* grad, const Tensor& x, const Tensor& w,
                      const Tensor& rows, const Tensor& target, int64_t chunk, double softcap) override {
    time(grad ? "token_logprobs_bwd" : "token_logprobs_fwd",
         [&] { in_.token_logprobs(logp, dx, dw, grad, x, w, rows, target, chunk, softcap); });
  }
  void adamw_step(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor* master, const AdamWStep& s) override {
    time("adamw_step", [&] { in_.adamw_step(p, g, m, v, master, s); });
  }

 private:
  template <typename Fn>
  void time(const char* op, Fn&& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    seconds_[op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  Backend& in_;
  std::map<std::string, double> seconds_;
  std::unordered_map<void*, size_t> sizes_;
  int64_t live_bytes_ = 0, peak_bytes_ = 0;
};

}  // namespace tandem
