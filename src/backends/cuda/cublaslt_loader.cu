// cuBLASLt, loaded on first use instead of linked. Linking it costs every process that starts 0.7 s of CPU here
// (its static initialisation), whether or not it ever computes on a GPU: every test, every `tandem` command. So
// the library is dlopen'ed the first time one of its functions is called, and the functions Tandem calls are
// defined here with cuBLASLt's own signatures, each forwarding to the loaded symbol.
#include <cublasLt.h>
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "core/check.h"

#ifndef TANDEM_CUBLASLT_DIR
#define TANDEM_CUBLASLT_DIR ""
#endif

namespace tandem {
namespace {

void* cublaslt_library() {
  static void* handle = nullptr;
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    const std::string name = "libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR);
    // The search path first (LD_LIBRARY_PATH, the executable's RUNPATH, ld.so.cache), then the toolkit it was
    // built against.
    for (const std::string& path : {name, std::string(TANDEM_CUBLASLT_DIR) + "/" + name}) {
      if ((handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL))) return;
      error += std::string(error.empty() ? "" : "; ") + dlerror();
    }
  });
  TANDEM_CHECK(handle, "cuda backend: cannot load cuBLASLt (", error, "): install CUDA ", CUBLAS_VER_MAJOR,
               "'s cuBLAS or put its lib64 folder on LD_LIBRARY_PATH");
  return handle;
}

template <typename Fn>
Fn* symbol(const char* name) {
  void* s = dlsym(cublaslt_library(), name);
  TANDEM_CHECK(s, "cuda backend: cuBLASLt has no ", name, " (", dlerror(), ")");
  return reinterpret_cast<Fn*>(s);
}

}  // namespace
}  // namespace tandem

// Each forwards to the real function, looked up once.
#define TANDEM_FORWARD(ret, name, params, args)                        \
  extern "C" ret CUBLASWINAPI name params {                            \
    static auto* real = tandem::symbol<ret CUBLASWINAPI params>(#name); \
    return real args;                                                   \
  }

TANDEM_FORWARD(cublasStatus_t, cublasLtCreate, (cublasLtHandle_t* h), (h))
TANDEM_FORWARD(cublasStatus_t, cublasLtDestroy, (cublasLtHandle_t h), (h))
TANDEM_FORWARD(size_t, cublasLtGetVersion, (void), ())
TANDEM_FORWARD(const char*, cublasLtGetStatusString, (cublasStatus_t s), (s))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatmulDescCreate,
               (cublasLtMatmulDesc_t * d, cublasComputeType_t compute, cudaDataType_t scale), (d, compute, scale))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatmulDescDestroy, (cublasLtMatmulDesc_t d), (d))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatmulDescSetAttribute,
               (cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, const void* buf, size_t bytes),
               (d, attr, buf, bytes))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatrixLayoutCreate,
               (cublasLtMatrixLayout_t * l, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld),
               (l, type, rows, cols, ld))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatrixLayoutDestroy, (cublasLtMatrixLayout_t l), (l))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatmulPreferenceCreate, (cublasLtMatmulPreference_t * p), (p))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatmulPreferenceDestroy, (cublasLtMatmulPreference_t p), (p))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatmulPreferenceSetAttribute,
               (cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t attr, const void* buf,
                size_t bytes),
               (p, attr, buf, bytes))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatmulAlgoGetHeuristic,
               (cublasLtHandle_t h, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d, cublasLtMatmulPreference_t pref, int requested,
                cublasLtMatmulHeuristicResult_t results[], int* returned),
               (h, op, a, b, c, d, pref, requested, results, returned))
TANDEM_FORWARD(cublasStatus_t, cublasLtMatmul,
               (cublasLtHandle_t h, cublasLtMatmulDesc_t op, const void* alpha, const void* a,
                cublasLtMatrixLayout_t a_desc, const void* b, cublasLtMatrixLayout_t b_desc, const void* beta,
                const void* c, cublasLtMatrixLayout_t c_desc, void* d, cublasLtMatrixLayout_t d_desc,
                const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspace_bytes, cudaStream_t stream),
               (h, op, alpha, a, a_desc, b, b_desc, beta, c, c_desc, d, d_desc, algo, workspace, workspace_bytes,
                stream))
