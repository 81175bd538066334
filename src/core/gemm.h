// Row-major single-precision and bf16 GEMM on oneDNN matmul.
// C = alpha * op(A) @ op(B) + beta * C with op(X) = X or X^T; A is m x k after op, B is k x n, C is m x n;
// lda/ldb/ldc are the row strides of the matrices as stored (so a transposed A is stored k x m).
// BLAS semantics: beta == 0 never reads C (NaN there is overwritten); k == 0 or alpha == 0 only scales C by beta;
// m == 0 or n == 0 does nothing. Accumulation is fp32 in every variant (bf16 products are exact in fp32).
// Threads: at the top level a call uses omp_get_max_threads() threads; inside an OpenMP parallel region it runs on
// the calling thread alone, and concurrent calls from several threads are safe. With a fixed thread count the
// results are bit-identical run to run (the kernel choice and its work split depend only on shape and threads).
#pragma once
#include <string>

#include "core/bf16.h"

namespace tandem {

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc);

// bf16 inputs, fp32 accumulation; the output is fp32, or bf16 (rounded once, from the fp32 result).
void gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* a, int lda, const bf16* b,
               int ldb, float beta, float* c, int ldc);
void gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* a, int lda, const bf16* b,
               int ldb, float beta, bf16* c, int ldc);

// What runs: oneDNN's version and the implementation it picks for an fp32 and a bf16 GEMM of the engine's typical
// shape on this CPU, e.g. "oneDNN 2.6.3, fp32 brg:avx512_core, bf16 brg:avx512_core_bf16".
std::string gemm_backend_info();

}  // namespace tandem
