// The CUDA backend: the Backend ops on one NVIDIA GPU, in f32 and bf16 storage with f32 compute (as the CPU
// backend): cuBLASLt GEMMs with fp32 accumulation (ops_gemm.cu), fused pointwise and normalisation kernels
// (ops_pointwise.cu), flash-style attention that saves only the log-sum-exp (ops_attention.cu). Everything runs in
// order on one stream; the host waits only where it reads a result (download, sum_squares).
// Internal to src/backends/cuda/: the rest of Tandem reaches it through backends/devices.h.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <string>

#include "backends/backend.h"
#include "backends/cuda/kernels/typed.cuh"

namespace tandem {

class CudaBackend final : public Backend {
 public:
  CudaBackend();  // on the current device; throws when there is none
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override;
  bool supports(DType t) const override { return t == DType::kF32 || t == DType::kBF16; }

  // Allocator (cuda_backend.cu): stream-ordered cudaMallocAsync from a pool that keeps freed memory for reuse.
  Device device() const override { return Device::kCuda; }
  void* alloc(size_t bytes) override;
  void free(void* ptr) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void fill_zero(void* ptr, size_t bytes) override;

  // ops_pointwise.cu
  void add(Tensor& out, const Tensor& a, const Tensor& b) override;
  void mul(Tensor& out, const Tensor& a, const Tensor& b) override;
  void add_mul(Tensor& acc, const Tensor& a, const Tensor& b) override;
  void scale(Tensor& x, double s) override;
  double sum_squares(const Tensor& x) override;
  void tanh_softcap(Tensor& x, double cap) override;
  void embedding_forward(Tensor& out, const Tensor& ids, const Tensor& table) override;
  void embedding_backward(Tensor& dtable, const Tensor& ids, const Tensor& dout) override;
  void rmsnorm_forward(Tensor& out, Tensor& rstd, const Tensor& x, const Tensor& weight, int64_t rows, double eps,
                       double weight_offset) override;
  void rmsnorm_backward(Tensor& dx, Tensor* dweight, const Tensor& dout, const Tensor& x, const Tensor& weight,
                        const Tensor& rstd, int64_t rows, double weight_offset) override;
  void layernorm_forward(Tensor& out, Tensor& mean, Tensor& rstd, const Tensor& x, const Tensor& weight,
                         const Tensor* bias, int64_t rows, double eps) override;
  void layernorm_backward(Tensor& dx, Tensor* dweight, Tensor* dbias, const Tensor& dout, const Tensor& x,
                          const Tensor& weight, const Tensor& mean, const Tensor& rstd, int64_t rows) override;
  void rope(Tensor& x, const Tensor& cos, const Tensor& sin, int64_t batch, int64_t seq, int64_t heads,
            const Tensor* positions, bool inverse) override;
  void glu_forward(Tensor& out, const Tensor& gate, const Tensor& up, Activation act) override;
  void glu_backward(Tensor& dgate, Tensor& dup, const Tensor& dout, const Tensor& gate, const Tensor& up,
                    Activation act) override;
  void activation_forward(Tensor& out, const Tensor& x, Activation act) override;
  void activation_backward(Tensor& dx, const Tensor& dout, const Tensor& x, Activation act) override;
  void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* master,
                  const AdamWStep& step) override;

  // ops_gemm.cu
  void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* bias, int64_t rows) override;
  void linear_backward(Tensor* dx, Tensor* dw, Tensor* dbias, const Tensor& dy, const Tensor& x, const Tensor& w,
                       int64_t rows) override;
  void lora_forward(Tensor& y, Tensor& h, const Tensor& x, const Tensor& a, const Tensor& b, int64_t rows,
                    double scale) override;
  void lora_backward(Tensor* dx, Tensor& da, Tensor& db, const Tensor& dy, const Tensor& x, const Tensor& h,
                     const Tensor& a, const Tensor& b, int64_t rows, double scale) override;
  void token_logprobs(Tensor* logp, Tensor* dx, Tensor* dw, const Tensor* grad, const Tensor& x, const Tensor& w,
                      const Tensor& row_index, const Tensor& target, int64_t chunk_rows, double softcap) override;

  // ops_attention.cu
  void attention_forward(Tensor& out, Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                         const Tensor& lengths, const AttentionShape& s, const AttentionMaskTensors& mask) override;
  void attention_backward(Tensor& dq, Tensor& dk, Tensor& dv, const Tensor& dout, const Tensor& out,
                          const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                          const Tensor& lengths, const AttentionShape& s, const AttentionMaskTensors& mask) override;
  void attention_decode(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start,
                        int64_t n, int64_t heads, int64_t kv_heads, const AttentionScoring& scoring) override;

  // For the op files (cuda_backend.cu).
  cudaStream_t stream() const { return stream_; }
  int device_index() const { return device_; }
  cublasLtHandle_t cublaslt() const { return lt_; }
  // Scratch slots, all in one table so no two users collide: GEMM's own (gemm_lt: cuBLASLt's workspace, operands
  // converted to the GEMM's type, an f32 copy of a bf16 output) and two for the ops themselves (logits chunks,
  // reduction partials, attention's Delta), which an op may hold across the GEMMs it calls.
  enum ScratchSlot : int {
    kGemmWorkspace, kGemmOperandA, kGemmOperandB, kGemmOutput,  // gemm_lt's
    kOpSlot0, kOpSlot1,                                         // the ops'
    kScratchSlots
  };
  // A device buffer of at least `bytes` for `slot`, kept and grown across calls.
  void* scratch(int slot, size_t bytes);
  // A tensor's device pointer as a kernel argument: checks that it lives on this backend and is f32 or bf16
  // (otherwise an error naming the op, the tensor and its dtype). Null or empty: a null argument.
  cuda::In in(const char* op, const Tensor& t) const;
  cuda::In in(const char* op, const Tensor* t) const;
  cuda::Out out(const char* op, Tensor& t) const;
  cuda::Out out(const char* op, Tensor* t) const;
  const int32_t* ints(const char* op, const Tensor* t) const;  // an i32 tensor on this backend (null: null)

 private:
  void check_on_device(const char* op, const Tensor& t) const;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  std::string device_name_;
  std::array<void*, kScratchSlots> scratch_{};
  std::array<size_t, kScratchSlots> scratch_bytes_{};
};

}  // namespace tandem
