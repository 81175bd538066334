// GEMM on oneDNN matmul (contract in core/gemm.h). Strided memory descriptors express the transposes and leading
// dimensions, alpha is an output scale and beta a sum post-op. Creating a primitive JIT-compiles a kernel
// (milliseconds), so primitives are cached per (shape, transposes, strides, alpha, beta, types, threads).
#include "core/gemm.h"

#include <omp.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/check.h"

namespace tandem {

namespace {

using dnnl::memory;
using dt = memory::data_type;

template <typename T>
constexpr dt dtype_of() {
  return std::is_same_v<T, float> ? dt::f32 : dt::bf16;
}

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

struct Key {
  int m, n, k, lda, ldb, ldc;
  int threads;  // oneDNN plans a primitive's work split for omp_get_max_threads() at its creation
  bool trans_a, trans_b;
  uint32_t alpha, beta;  // bit patterns: an exact match, and a key always equals itself
  dt ab, c;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  size_t operator()(const Key& key) const {
    size_t h = 0;
    for (const uint64_t v : {uint64_t(key.m), uint64_t(key.n), uint64_t(key.k), uint64_t(key.lda),
                             uint64_t(key.ldb), uint64_t(key.ldc), uint64_t(key.threads),
                             uint64_t(key.trans_a) << 1 | uint64_t(key.trans_b), uint64_t(key.alpha),
                             uint64_t(key.beta), uint64_t(key.ab) << 8 | uint64_t(key.c)})
      h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
  }
};

dnnl::matmul::primitive_desc describe(const Key& key) {
  const memory::dim m = key.m, n = key.n, k = key.k;
  // Row-major storage; a transposed operand is the same buffer read with its two strides swapped.
  const memory::desc a_md({m, k}, key.ab, key.trans_a ? memory::dims{1, key.lda} : memory::dims{key.lda, 1});
  const memory::desc b_md({k, n}, key.ab, key.trans_b ? memory::dims{1, key.ldb} : memory::dims{key.ldb, 1});
  const memory::desc c_md({m, n}, key.c, memory::dims{key.ldc, 1});
  dnnl::primitive_attr attr;
  // Each call passes its own thread's scratchpad, so concurrent calls never share oneDNN's internal one.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const float alpha = std::bit_cast<float>(key.alpha), beta = std::bit_cast<float>(key.beta);
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {  // without a sum post-op C is write-only, so beta == 0 ignores NaN garbage there
    dnnl::post_ops po;
    po.append_sum(beta);
    attr.set_post_ops(po);
  }
  try {
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), attr, cpu_engine());
  } catch (const dnnl::error& e) {
    fail("gemm: oneDNN has no matmul for m=", key.m, " n=", key.n, " k=", key.k, " trans_a=", key.trans_a,
         " trans_b=", key.trans_b, " lda=", key.lda, " ldb=", key.ldb, " ldc=", key.ldc, ": ", e.what());
  }
}

struct Plan {
  dnnl::matmul primitive;
  memory::desc a_md, b_md, c_md, scratchpad_md;
};

// Bounded because attention's per-sequence lengths keep adding shapes; when full it starts over.
constexpr size_t kMaxPlans = 4096;

struct PlanCache {
  std::mutex mutex;
  std::unordered_map<Key, Plan, KeyHash> plans;
};

Plan plan_for(const Key& key) {
  static PlanCache cache;
  {
    const std::lock_guard lock(cache.mutex);
    if (const auto it = cache.plans.find(key); it != cache.plans.end()) return it->second;
  }
  // Compiled outside the lock so threads missing on different shapes do not wait on each other; if two threads
  // race on one key, both plans are the same kernel and the first stored wins.
  const auto pd = describe(key);
  Plan plan{dnnl::matmul(pd), pd.src_desc(), pd.weights_desc(), pd.dst_desc(), pd.scratchpad_desc()};
  const std::lock_guard lock(cache.mutex);
  if (cache.plans.size() >= kMaxPlans) cache.plans.clear();
  return cache.plans.try_emplace(key, std::move(plan)).first->second;
}

void* scratchpad(size_t bytes) {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<void, Free> buffer;
  thread_local size_t capacity = 0;
  if (bytes > capacity) {
    const size_t rounded = (bytes + 4095) / 4096 * 4096;
    buffer.reset(std::aligned_alloc(4096, rounded));
    TANDEM_CHECK(buffer, "gemm: cannot allocate a ", rounded, "-byte scratchpad");
    capacity = rounded;
  }
  return buffer.get();
}

// Inside a parallel region oneDNN runs a call on the calling thread alone, yet omp_get_max_threads() there still
// reports the top-level thread count, which is what oneDNN plans a new primitive's work split for. Setting it to 1
// for the call (a per-thread setting inside a region) plans the kernel for the one thread that runs it and keys the
// cache apart from top-level calls of the same shape, so the kernel a call gets never depends on which came first.
class OneThreadInParallel {
 public:
  OneThreadInParallel() : saved_(omp_in_parallel() ? omp_get_max_threads() : 0) {
    if (saved_) omp_set_num_threads(1);
  }
  ~OneThreadInParallel() {
    if (saved_) omp_set_num_threads(saved_);
  }
  OneThreadInParallel(const OneThreadInParallel&) = delete;
  OneThreadInParallel& operator=(const OneThreadInParallel&) = delete;

 private:
  int saved_;
};

template <typename T>
void scale_c(int m, int n, float beta, T* c, int ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      c[i * ldc + j] = store<T>(beta == 0.0f ? 0.0f : beta * to_float(c[i * ldc + j]));
}

// oneDNN 2.6 has no bf16 matmul below AVX-512 (e.g. AVX2-only CPUs). There the operands are widened to fp32, which
// is exact, and the fp32 GEMM runs: the same fp32-accumulated result, without the bf16 speed-up.
bool native_bf16();

template <typename T>
std::vector<float> widen(const T* x, int rows, int cols, int ld) {
  std::vector<float> out(size_t(rows) * size_t(cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[i * cols + j] = to_float(x[i * ld + j]);
  return out;
}

template <typename In, typename Out>
void matmul(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const In* a, int lda, const In* b, int ldb,
            float beta, Out* c, int ldc) {
  TANDEM_CHECK(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=", m, " n=", n, " k=", k);
  if (m == 0 || n == 0) return;
  TANDEM_CHECK(ldc >= n, "gemm: ldc=", ldc, " < n=", n);
  if (k == 0 || alpha == 0.0f) return scale_c(m, n, beta, c, ldc);  // BLAS: A and B are not read
  TANDEM_CHECK(lda >= (trans_a ? m : k), "gemm: lda=", lda, " too small for op(A) ", m, "x", k);
  TANDEM_CHECK(ldb >= (trans_b ? k : n), "gemm: ldb=", ldb, " too small for op(B) ", k, "x", n);

  if constexpr (std::is_same_v<In, bf16>) {
    if (!native_bf16()) {
      const int a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
      const auto a32 = widen(a, trans_a ? k : m, a_cols, lda), b32 = widen(b, trans_b ? n : k, b_cols, ldb);
      if constexpr (std::is_same_v<Out, float>) {
        matmul(trans_a, trans_b, m, n, k, alpha, a32.data(), a_cols, b32.data(), b_cols, beta, c, ldc);
      } else {
        auto c32 = beta == 0.0f ? std::vector<float>(size_t(m) * size_t(n)) : widen(c, m, n, ldc);
        matmul(trans_a, trans_b, m, n, k, alpha, a32.data(), a_cols, b32.data(), b_cols, beta, c32.data(), n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = to_bf16(c32[i * n + j]);
      }
      return;
    }
  }
  const OneThreadInParallel one_thread;
  const Key key{.m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .threads = omp_get_max_threads(),
                .trans_a = trans_a, .trans_b = trans_b, .alpha = std::bit_cast<uint32_t>(alpha),
                .beta = std::bit_cast<uint32_t>(beta), .ab = dtype_of<In>(), .c = dtype_of<Out>()};
  const Plan plan = plan_for(key);
  dnnl::engine& engine = cpu_engine();
  thread_local dnnl::stream stream(engine);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(plan.a_md, engine, const_cast<In*>(a))},
                                       {DNNL_ARG_WEIGHTS, memory(plan.b_md, engine, const_cast<In*>(b))},
                                       {DNNL_ARG_DST, memory(plan.c_md, engine, c)}};
  if (const size_t bytes = plan.scratchpad_md.get_size())
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(plan.scratchpad_md, engine, scratchpad(bytes)));
  plan.primitive.execute(stream, args);
  stream.wait();
}

// The engine's most common GEMM: a linear layer's forward y = x W^T, 1024 tokens x 1536 outputs x 512 inputs.
Key typical_key(dt ab) {
  return {.m = 1024, .n = 1536, .k = 512, .lda = 512, .ldb = 512, .ldc = 1536, .threads = omp_get_max_threads(),
          .trans_a = false, .trans_b = true, .alpha = std::bit_cast<uint32_t>(1.0f), .beta = 0, .ab = ab, .c = dt::f32};
}

bool native_bf16() {
  static const bool supported = [] {
    try {
      describe(typical_key(dt::bf16));
      return true;
    } catch (const Error&) {
      return false;
    }
  }();
  return supported;
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
  matmul(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* a, int lda, const bf16* b,
               int ldb, float beta, float* c, int ldc) {
  matmul(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* a, int lda, const bf16* b,
               int ldb, float beta, bf16* c, int ldc) {
  matmul(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

std::string gemm_backend_info() {
  const dnnl_version_t* v = dnnl::version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         ", fp32 " + describe(typical_key(dt::f32)).impl_info_str() + ", bf16 " +
         (native_bf16() ? describe(typical_key(dt::bf16)).impl_info_str() : "widened to fp32 (no oneDNN bf16 here)");
}

}  // namespace tandem
