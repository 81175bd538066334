// How the CPU backend hands tensors to its kernels: kernels that read each storage type natively (native), the
// compute type of a storage dtype (dispatch), and Args, which passes f32
// and f64 tensors as they are and bf16 ones through pooled f32 copies that are rounded back into bf16 outputs when
// the op ends (the fallback for dtype mixes no kernel reads natively). Internal to src/backends/cpu/.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <list>
#include <vector>

#include "backends/cpu/kernels/convert.h"
#include "backends/op_checks.h"
#include "core/check.h"
#include "core/tensor.h"

namespace tandem::cpu {

// Runs fn(F{}) with F the compute type of storage `t`, or names the op and dtype the CPU backend lacks.
template <typename Fn>
void dispatch(const char* op, DType t, Fn&& fn) {
  switch (t) {
    case DType::kF32: case DType::kBF16: fn(float{}); return;
    case DType::kF64: fn(double{}); return;
    default: fail("cpu backend: op ", op, " has no ", dtype_str(t), " kernel");
  }
}

// The ops whose kernels read storage natively (no f32 copies) call them through this: when every tensor in
// `stored` has dtype `storage` and every tensor in `computed` the compute type of that storage (f32 for bf16; null
// and empty tensors are skipped), runs fn(S{}) with S the storage type (float, bf16 or double) and returns true.
// Otherwise returns false and the op falls back to Args.
template <typename Fn>
bool native(DType storage, std::initializer_list<const Tensor*> stored, std::initializer_list<const Tensor*> computed,
            Fn&& fn) {
  const DType compute = storage == DType::kBF16 ? DType::kF32 : storage;
  auto all = [](std::initializer_list<const Tensor*> ts, DType t) {
    for (const Tensor* x : ts)
      if (x && !x->empty() && x->dtype() != t) return false;
    return true;
  };
  if (!all(stored, storage) || !all(computed, compute)) return false;
  switch (storage) {
    case DType::kF32: fn(float{}); return true;
    case DType::kBF16: fn(bf16{}); return true;
    case DType::kF64: fn(double{}); return true;
    default: return false;
  }
}

inline const int32_t* ints(const Tensor* t) { return t && !t->empty() ? t->data<int32_t>() : nullptr; }

// f32 buffers reused across op calls: a fresh multi-MB vector per op would be zeroed and page-faulted every step.
// A buffer is handed out whole (its size is its capacity) and only its first n values are used.
class ScratchPool {
 public:
  std::vector<float> take(size_t n) {
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->size() >= n && (best == free_.end() || it->size() < best->size())) best = it;
    if (best == free_.end()) return std::vector<float>(n);
    std::vector<float> v = std::move(*best);
    free_.erase(best);
    return v;
  }
  void give(std::vector<float>&& v) { free_.push_back(std::move(v)); }

 private:
  std::list<std::vector<float>> free_;
};

// The kernel arguments of one op call in compute type F. For F = double every tensor must be f64. For F = float,
// f32 tensors are passed as they are; a bf16 tensor is read through an f32 copy, and an output's copy is rounded
// back into the tensor when the op ends (outputs that accumulate are read first).
template <typename F>
class Args {
 public:
  explicit Args(ScratchPool&) {}
  const F* in(const Tensor& t) { return t.data<F>(); }
  const F* in(const Tensor* t) { return t && !t->empty() ? in(*t) : nullptr; }
  F* out(Tensor& t, bool = false) { return t.data<F>(); }
  F* out(Tensor* t, bool accumulate = false) { return t && !t->empty() ? out(*t, accumulate) : nullptr; }
};

template <>
class Args<float> {
 public:
  explicit Args(ScratchPool& pool) : pool_(pool) {}
  Args(const Args&) = delete;
  Args& operator=(const Args&) = delete;
  ~Args() {
    for (auto& c : copies_) {
      if (c.write_back) f32_to_bf16(c.tensor->data<bf16>(), c.values.data(), c.tensor->numel());
      pool_.give(std::move(c.values));
    }
  }
  const float* in(const Tensor& t) {
    if (t.dtype() != DType::kBF16) return t.data<float>();
    return copy(const_cast<Tensor&>(t), true, false);
  }
  const float* in(const Tensor* t) { return t && !t->empty() ? in(*t) : nullptr; }
  float* out(Tensor& t, bool accumulate = false) {
    if (t.dtype() != DType::kBF16) return t.data<float>();
    return copy(t, accumulate, true);
  }
  float* out(Tensor* t, bool accumulate = false) { return t && !t->empty() ? out(*t, accumulate) : nullptr; }

 private:
  struct Copy {
    Tensor* tensor;
    std::vector<float> values;
    bool write_back;
  };
  float* copy(Tensor& t, bool read, bool write_back) {
    Copy& c = copies_.emplace_back(Copy{&t, pool_.take(size_t(t.numel())), write_back});
    if (read) bf16_to_f32(c.values.data(), t.data<bf16>(), t.numel());
    return c.values.data();
  }
  ScratchPool& pool_;
  std::list<Copy> copies_;
};

}  // namespace tandem::cpu
