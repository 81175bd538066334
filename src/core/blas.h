// GEMM entry points for the kernels: the float one (the engine) runs on oneDNN (core/gemm.h); the double one
// serves the finite-difference gradient checks and stays on OpenBLAS dgemm (oneDNN has no f64 matmul on CPU).
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

}  // namespace tandem
