// GEMM entry points for the kernels, one name for every storage type they hold: float (the engine) runs on oneDNN
// (core/gemm.h); bf16 inputs run oneDNN's bf16 GEMM with f32 accumulation and an f32 output; the double one serves
// the finite-difference gradient checks and stays on OpenBLAS dgemm (oneDNN has no f64 matmul on CPU).
// C = alpha * op(A) @ op(B) + beta * C, with op(X) = X or X^T; lda/ldb/ldc are row strides.
#pragma once
#include <cblas.h>

#include "core/gemm.h"

namespace tandem {

inline void gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
              alpha, a, lda, b, ldb, beta, c, ldc);
}

inline void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* a, int lda, const bf16* b,
                 int ldb, float beta, float* c, int ldc) {
  gemm_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace tandem
