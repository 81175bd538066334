// Placeholder until the kernels land: every op is an error naming it.
#include "backends/cuda/cuda_backend.h"
#include "core/check.h"

namespace tandem {

void CudaBackend::linear_forward(Tensor& /*y*/, const Tensor& /*x*/, const Tensor& /*w*/, const Tensor* /*bias*/, int64_t /*rows*/) { fail("cuda backend: op linear_forward is not implemented yet"); }
void CudaBackend::linear_backward(Tensor* /*dx*/, Tensor* /*dw*/, Tensor* /*dbias*/, const Tensor& /*dy*/, const Tensor& /*x*/, const Tensor& /*w*/, int64_t /*rows*/) { fail("cuda backend: op linear_backward is not implemented yet"); }
void CudaBackend::lora_forward(Tensor& /*y*/, Tensor& /*h*/, const Tensor& /*x*/, const Tensor& /*a*/, const Tensor& /*b*/, int64_t /*rows*/, double /*scale*/) { fail("cuda backend: op lora_forward is not implemented yet"); }
void CudaBackend::lora_backward(Tensor* /*dx*/, Tensor& /*da*/, Tensor& /*db*/, const Tensor& /*dy*/, const Tensor& /*x*/, const Tensor& /*h*/, const Tensor& /*a*/, const Tensor& /*b*/, int64_t /*rows*/, double /*scale*/) { fail("cuda backend: op lora_backward is not implemented yet"); }
void CudaBackend::token_logprobs(Tensor* /*logp*/, Tensor* /*dx*/, Tensor* /*dw*/, const Tensor* /*grad*/, const Tensor& /*x*/, const Tensor& /*w*/, const Tensor& /*row_index*/, const Tensor& /*target*/, int64_t /*chunk_rows*/, double /*softcap*/) { fail("cuda backend: op token_logprobs is not implemented yet"); }

}  // namespace tandem
