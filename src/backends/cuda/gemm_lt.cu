#include "backends/cuda/gemm_lt.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <tuple>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/convert.cuh"

namespace tandem::cuda {

namespace {

constexpr size_t kWorkspaceBytes = size_t{32} << 20;  // what cuBLAS itself uses on Hopper

const char* dtype_name(bool bf16) { return bf16 ? "bf16" : "f32"; }

// The largest power of two up to 256 dividing the address: the alignment cuBLASLt's algorithm may rely on (tensor
// views and scratch carve-outs are not always 256-byte aligned).
uint32_t alignment(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  uint32_t align = 256;
  while (align > 1 && address % align != 0) align /= 2;
  return align;
}

// Everything the algorithm choice depends on.
struct PlanKey {
  uintptr_t handle;
  bool trans_a, trans_b, bf16_in, bf16_out;
  int64_t m, n, k, lda, ldb, ldc;
  uint32_t align_a, align_b, align_c;
  auto tied() const {
    return std::tie(handle, trans_a, trans_b, bf16_in, bf16_out, m, n, k, lda, ldb, ldc, align_a, align_b, align_c);
  }
  bool operator<(const PlanKey& o) const { return tied() < o.tied(); }
};

// The descriptors and the algorithm of one GEMM shape, in cuBLAS's column-major terms: its A is our B, its B our A.
struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // C and D share one layout (D = C in place)
  cublasLtMatmulAlgo_t algo{};
  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

struct PreferenceGuard {
  cublasLtMatmulPreference_t pref = nullptr;
  ~PreferenceGuard() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
  }
};

std::string describe(const char* op, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, In a, int64_t lda,
                     In b, int64_t ldb, Out c, int64_t ldc, GemmInputs inputs) {
  std::ostringstream s;
  s << op << ": GEMM C [" << m << " x " << n << "] (" << dtype_name(c.bf16) << ", ldc " << ldc << ") = "
    << (trans_a ? "A^T [" : "A [") << m << " x " << k << "] (" << dtype_name(a.bf16) << ", lda " << lda << ") x "
    << (trans_b ? "B^T [" : "B [") << k << " x " << n << "] (" << dtype_name(b.bf16) << ", ldb " << ldb << ") in "
    << dtype_name(inputs == GemmInputs::kBf16);
  return s.str();
}

template <typename T>
void set_desc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, T value, const std::string& where) {
  TANDEM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof value), " (", where, ")");
}
template <typename T>
void set_pref(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, T value,
              const std::string& where) {
  TANDEM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof value), " (", where, ")");
}

std::unique_ptr<Plan> make_plan(cublasLtHandle_t handle, const PlanKey& key, const std::string& where) {
  auto plan = std::make_unique<Plan>();
  const cudaDataType_t in_type = key.bf16_in ? CUDA_R_16BF : CUDA_R_32F;
  const cudaDataType_t out_type = key.bf16_out ? CUDA_R_16BF : CUDA_R_32F;
  // fp32 accumulation and scaling; plain CUBLAS_COMPUTE_32F never uses TF32 for f32 inputs.
  TANDEM_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), " (", where, ")");
  set_desc(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, int32_t(key.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N), where);
  set_desc(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, int32_t(key.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N), where);
  // A row-major [r, c] matrix with row stride ld is a column-major [c, r] one with leading dimension ld.
  // cuBLAS's A = our B: stored row-major [k, n], or [n, k] when transposed.
  const int64_t b_rows = key.trans_b ? key.n : key.k, b_cols = key.trans_b ? key.k : key.n;
  const int64_t a_rows = key.trans_a ? key.k : key.m, a_cols = key.trans_a ? key.m : key.k;
  TANDEM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->a, in_type, uint64_t(b_cols), uint64_t(b_rows), key.ldb),
                      " (", where, ")");
  TANDEM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->b, in_type, uint64_t(a_cols), uint64_t(a_rows), key.lda),
                      " (", where, ")");
  TANDEM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->c, out_type, uint64_t(key.n), uint64_t(key.m), key.ldc),
                      " (", where, ")");

  PreferenceGuard guard;
  TANDEM_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&guard.pref), " (", where, ")");
  set_pref(guard.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, uint64_t{kWorkspaceBytes}, where);
  set_pref(guard.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_b, where);
  set_pref(guard.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_a, where);
  set_pref(guard.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_c, where);
  set_pref(guard.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_c, where);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  TANDEM_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle, plan->desc, plan->a, plan->b, plan->c, plan->c,
                                                     guard.pref, 1, &result, &found),
                      " (", where, ")");
  TANDEM_CHECK(found > 0 && result.state == CUBLAS_STATUS_SUCCESS, "cublas: no cuBLASLt algorithm for ", where);
  TANDEM_CHECK(result.workspaceSize <= kWorkspaceBytes, "cublas: the algorithm for ", where, " wants ",
               result.workspaceSize, " bytes of workspace, more than the ", kWorkspaceBytes, " allowed");
  plan->algo = result.algo;
  return plan;
}

// The cached plan of a shape: the heuristic is asked once, so every later call runs the same algorithm. Plans live
// until the process exits (never destroyed: cuBLASLt may be unloaded before static destructors run).
template <typename Where>
const Plan& plan_for(cublasLtHandle_t handle, const PlanKey& key, const Where& where) {
  static std::mutex mutex;
  static auto* plans = new std::map<PlanKey, std::unique_ptr<Plan>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans->find(key);
  if (it == plans->end()) it = plans->emplace(key, make_plan(handle, key, where())).first;
  return *it->second;
}

}  // namespace

void gemm_lt(CudaBackend& backend, const char* op, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
             float alpha, In a, int64_t lda, In b, int64_t ldb, float beta, Out c, int64_t ldc, GemmInputs inputs) {
  // Built only when a check fails or a plan is made (most calls hit the cache); names the arguments as given.
  const auto where = [=] { return describe(op, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, inputs); };
  TANDEM_CHECK(m >= 0 && n >= 0 && k >= 0, where(), ": negative size");
  if (m == 0 || n == 0) return;
  TANDEM_CHECK(c && ldc >= n, where(), ": null output or ldc < n");
  const cudaStream_t stream = backend.stream();
  if (k == 0) {  // an empty sum: C = beta * C
    TANDEM_CHECK(beta == 0 || beta == 1, where(), ": k = 0 with beta ", beta);
    const size_t elem = c.bf16 ? 2 : 4;
    if (beta == 0)
      TANDEM_CUDA_CHECK(cudaMemset2DAsync(c.p, size_t(ldc) * elem, 0, size_t(n) * elem, size_t(m), stream), " (",
                        where(), ")");
    return;
  }
  TANDEM_CHECK(a && b, where(), ": null operand");
  TANDEM_CHECK(lda >= (trans_a ? m : k) && ldb >= (trans_b ? k : n), where(), ": leading dimension too small");

  // Operands not in the input type become dense copies that are (rows x cols as stored, ld = cols).
  const bool bf16_in = inputs == GemmInputs::kBf16;
  auto operand = [&](In x, int64_t rows, int64_t cols, int64_t& ld, int slot) -> In {
    if (x.bf16 == bf16_in) return x;
    const Out copy{backend.scratch(slot, size_t(rows) * size_t(cols) * (bf16_in ? 2 : 4)), bf16_in};
    convert_matrix(copy, x, rows, cols, ld, cols, stream);
    ld = cols;
    return copy;
  };
  a = operand(a, trans_a ? k : m, trans_a ? m : k, lda, CudaBackend::kGemmOperandA);
  b = operand(b, trans_b ? n : k, trans_b ? k : n, ldb, CudaBackend::kGemmOperandB);
  // f32 x f32 can only write f32: a bf16 C goes through an f32 copy (read first when accumulating).
  Out d = c;
  int64_t ldd = ldc;
  const bool staged = c.bf16 && !bf16_in;
  if (staged) {
    d = Out{backend.scratch(CudaBackend::kGemmOutput, size_t(m) * size_t(n) * 4), false};
    ldd = n;
    if (beta != 0) convert_matrix(d, c, m, n, ldc, ldd, stream);
  }

  void* workspace = backend.scratch(CudaBackend::kGemmWorkspace, kWorkspaceBytes);
  const PlanKey key{reinterpret_cast<uintptr_t>(backend.cublaslt()), trans_a, trans_b, bf16_in, d.bf16, m, n, k,
                    lda, ldb, ldd, alignment(a.p), alignment(b.p), alignment(d.p)};
  const Plan& plan = plan_for(backend.cublaslt(), key, where);
  TANDEM_CUBLAS_CHECK(cublasLtMatmul(backend.cublaslt(), plan.desc, &alpha, b.p, plan.a, a.p, plan.b, &beta, d.p,
                                     plan.c, d.p, plan.c, &plan.algo, workspace, kWorkspaceBytes, stream),
                      " (", where(), ")");
  if (staged) convert_matrix(c, d, m, n, ldd, ldc, stream);
}

}  // namespace tandem::cuda
