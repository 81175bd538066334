// Placeholder until the kernels land: every op is an error naming it.
#include "backends/cuda/cuda_backend.h"
#include "core/check.h"

namespace tandem {

void CudaBackend::add(Tensor& /*out*/, const Tensor& /*a*/, const Tensor& /*b*/) { fail("cuda backend: op add is not implemented yet"); }
void CudaBackend::mul(Tensor& /*out*/, const Tensor& /*a*/, const Tensor& /*b*/) { fail("cuda backend: op mul is not implemented yet"); }
void CudaBackend::add_mul(Tensor& /*acc*/, const Tensor& /*a*/, const Tensor& /*b*/) { fail("cuda backend: op add_mul is not implemented yet"); }
void CudaBackend::scale(Tensor& /*x*/, double /*s*/) { fail("cuda backend: op scale is not implemented yet"); }
double CudaBackend::sum_squares(const Tensor& /*x*/) { fail("cuda backend: op sum_squares is not implemented yet"); }
void CudaBackend::tanh_softcap(Tensor& /*x*/, double /*cap*/) { fail("cuda backend: op tanh_softcap is not implemented yet"); }
void CudaBackend::embedding_forward(Tensor& /*out*/, const Tensor& /*ids*/, const Tensor& /*table*/) { fail("cuda backend: op embedding_forward is not implemented yet"); }
void CudaBackend::embedding_backward(Tensor& /*dtable*/, const Tensor& /*ids*/, const Tensor& /*dout*/) { fail("cuda backend: op embedding_backward is not implemented yet"); }
void CudaBackend::rmsnorm_forward(Tensor& /*out*/, Tensor& /*rstd*/, const Tensor& /*x*/, const Tensor& /*weight*/, int64_t /*rows*/, double /*eps*/, double /*weight_offset*/) { fail("cuda backend: op rmsnorm_forward is not implemented yet"); }
void CudaBackend::rmsnorm_backward(Tensor& /*dx*/, Tensor* /*dweight*/, const Tensor& /*dout*/, const Tensor& /*x*/, const Tensor& /*weight*/, const Tensor& /*rstd*/, int64_t /*rows*/, double /*weight_offset*/) { fail("cuda backend: op rmsnorm_backward is not implemented yet"); }
void CudaBackend::layernorm_forward(Tensor& /*out*/, Tensor& /*mean*/, Tensor& /*rstd*/, const Tensor& /*x*/, const Tensor& /*weight*/, const Tensor* /*bias*/, int64_t /*rows*/, double /*eps*/) { fail("cuda backend: op layernorm_forward is not implemented yet"); }
void CudaBackend::layernorm_backward(Tensor& /*dx*/, Tensor* /*dweight*/, Tensor* /*dbias*/, const Tensor& /*dout*/, const Tensor& /*x*/, const Tensor& /*weight*/, const Tensor& /*mean*/, const Tensor& /*rstd*/, int64_t /*rows*/) { fail("cuda backend: op layernorm_backward is not implemented yet"); }
void CudaBackend::rope(Tensor& /*x*/, const Tensor& /*cos*/, const Tensor& /*sin*/, int64_t /*batch*/, int64_t /*seq*/, int64_t /*heads*/, const Tensor* /*positions*/, bool /*inverse*/) { fail("cuda backend: op rope is not implemented yet"); }
void CudaBackend::glu_forward(Tensor& /*out*/, const Tensor& /*gate*/, const Tensor& /*up*/, Activation /*act*/) { fail("cuda backend: op glu_forward is not implemented yet"); }
void CudaBackend::glu_backward(Tensor& /*dgate*/, Tensor& /*dup*/, const Tensor& /*dout*/, const Tensor& /*gate*/, const Tensor& /*up*/, Activation /*act*/) { fail("cuda backend: op glu_backward is not implemented yet"); }
void CudaBackend::activation_forward(Tensor& /*out*/, const Tensor& /*x*/, Activation /*act*/) { fail("cuda backend: op activation_forward is not implemented yet"); }
void CudaBackend::activation_backward(Tensor& /*dx*/, const Tensor& /*dout*/, const Tensor& /*x*/, Activation /*act*/) { fail("cuda backend: op activation_backward is not implemented yet"); }
void CudaBackend::adamw_step(Tensor& /*param*/, const Tensor& /*grad*/, Tensor& /*m*/, Tensor& /*v*/, Tensor* /*master*/, const AdamWStep& /*step*/) { fail("cuda backend: op adamw_step is not implemented yet"); }

}  // namespace tandem
