// Row-major GEMMs through cuBLASLt for the CUDA backend's GEMM ops (ops_gemm.cu):
//   C[m, n] = alpha * op(A) op(B) + beta * C,  op(A) [m, k], op(B) [k, n],
// with A, B and C each f32 or bf16 storage and fp32 accumulation (CUBLAS_COMPUTE_32F). The caller picks the type
// the operands are multiplied in, as the CPU backend does: bf16 (tensor cores; an f32 operand is first rounded to a
// bf16 copy, as autocast does) or f32 (plain fp32, no TF32; a bf16 operand is widened exactly). An f32 product
// into a bf16 C goes through an f32 copy of C rounded once at the end (cuBLASLt has no f32 x f32 -> bf16).
// Row-major is cuBLAS's column-major with the roles swapped: C^T = op(B)^T op(A)^T.
// Determinism: the algorithm is picked once per shape, dtypes and alignments (the heuristic's answer is cached),
// with a fixed workspace on the backend's one stream, so a repeated call gives the same bits.
// Scratch slots (CudaBackend::scratch): 0 the workspace, 1 and 2 converted A and B, 3 the f32 copy of C. Callers
// keep their own buffers in slots 4 and 5.
#pragma once
#include <cstdint>

#include "backends/cuda/kernels/typed.cuh"

namespace tandem {

class CudaBackend;

namespace cuda {

enum class GemmInputs { kF32, kBf16 };  // the type A and B are multiplied in

// Uses CudaBackend's GEMM scratch slots (kGemmWorkspace .. kGemmOutput); its callers keep to kOpSlot0 and kOpSlot1.
// lda, ldb, ldc: the row strides of A, B and C as stored (A is [k, m] when trans_a, B [n, k] when trans_b).
// `op` names the calling op in errors. m, n or k of 0 is allowed (k = 0: C = beta * C, beta 0 or 1).
void gemm_lt(CudaBackend& backend, const char* op, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
             float alpha, In a, int64_t lda, In b, int64_t ldb, float beta, Out c, int64_t ldc, GemmInputs inputs);

// The operand type the CPU backend multiplies in for a weight of this storage: bf16 weights run bf16 GEMMs.
inline GemmInputs inputs_for_weight(bool weight_bf16) { return weight_bf16 ? GemmInputs::kBf16 : GemmInputs::kF32; }

}  // namespace cuda
}  // namespace tandem
