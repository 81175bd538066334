// Placeholder until the kernels land: every op is an error naming it.
#include "backends/cuda/cuda_backend.h"
#include "core/check.h"

namespace tandem {

void CudaBackend::attention_forward(Tensor& /*out*/, Tensor& /*lse*/, const Tensor& /*q*/, const Tensor& /*k*/, const Tensor& /*v*/, const Tensor& /*lengths*/, const AttentionShape& /*s*/, const AttentionMaskTensors& /*mask*/) { fail("cuda backend: op attention_forward is not implemented yet"); }
void CudaBackend::attention_backward(Tensor& /*dq*/, Tensor& /*dk*/, Tensor& /*dv*/, const Tensor& /*dout*/, const Tensor& /*out*/, const Tensor& /*lse*/, const Tensor& /*q*/, const Tensor& /*k*/, const Tensor& /*v*/, const Tensor& /*lengths*/, const AttentionShape& /*s*/, const AttentionMaskTensors& /*mask*/) { fail("cuda backend: op attention_backward is not implemented yet"); }
void CudaBackend::attention_decode(Tensor& /*out*/, const Tensor& /*q*/, const Tensor& /*k_cache*/, const Tensor& /*v_cache*/, int64_t /*start*/, int64_t /*n*/, int64_t /*heads*/, int64_t /*kv_heads*/, const AttentionScoring& /*scoring*/) { fail("cuda backend: op attention_decode is not implemented yet"); }

}  // namespace tandem
