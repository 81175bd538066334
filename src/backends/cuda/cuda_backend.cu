// The CUDA backend's device, stream, memory and argument checks; the ops are in ops_*.cu.
#include "backends/cuda/cuda_backend.h"

#include <cstdio>
#include <memory>
#include <mutex>

#include "backends/cuda/cuda_check.h"
#include "backends/devices.h"

namespace tandem {

namespace {

double mib(size_t bytes) { return double(bytes) / double(1 << 20); }

// Why no GPU can be used, or "" when one can (asked once: cudaGetDeviceCount initialises the driver).
const std::string& unusable_reason() {
  static const std::string reason = [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess)
      return std::string("no CUDA GPU found (cudaGetDeviceCount: ") + cudaGetErrorString(status) + ")";
    if (count == 0) return std::string("no CUDA GPU found (the driver sees no device)");
    return std::string();
  }();
  return reason;
}

}  // namespace

bool cuda_compiled() { return true; }

bool cuda_usable(std::string* why) {
  const std::string& reason = unusable_reason();
  if (why) *why = reason;
  return reason.empty();
}

Backend& cuda_backend() {
  std::string why;
  TANDEM_CHECK(cuda_usable(&why), "device \"cuda\": ", why);
  static CudaBackend backend;
  return backend;
}

std::string cuda_library_versions() {
  int runtime = 0;
  TANDEM_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  return "CUDA runtime " + std::to_string(runtime) + ", cuBLASLt " + std::to_string(cublasLtGetVersion());
}

int64_t device_peak_memory_bytes(Backend& backend) {
  auto* gpu = dynamic_cast<CudaBackend*>(&backend);
  if (!gpu) return -1;
  cudaMemPool_t pool = nullptr;
  uint64_t high = 0;
  TANDEM_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, gpu->device_index()));
  TANDEM_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &high));
  return int64_t(high);
}

CudaBackend::CudaBackend() {
  std::string why;
  TANDEM_CHECK(cuda_usable(&why), "device \"cuda\": ", why);
  TANDEM_CUDA_CHECK(cudaGetDevice(&device_));
  cudaDeviceProp prop{};
  TANDEM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
  TANDEM_CHECK(prop.major >= 8, "device \"cuda\": ", prop.name, " is compute capability ", prop.major, ".",
               prop.minor, "; the CUDA backend needs bf16 tensor cores (8.0 or newer: A100, H100, H200, ...)");
  device_name_ = std::string(prop.name) + ", sm_" + std::to_string(prop.major * 10 + prop.minor) + ", " +
                 std::to_string(int(mib(prop.totalGlobalMem) / 1024 + 0.5)) + " GiB";
  TANDEM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  TANDEM_CUBLAS_CHECK(cublasLtCreate(&lt_));
  // Freed blocks stay in the pool for the next allocation (a caching allocator, as PyTorch's): the model's
  // per-step scratch is re-made at the same sizes every step.
  cudaMemPool_t pool = nullptr;
  TANDEM_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device_));
  uint64_t keep = UINT64_MAX;
  TANDEM_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
}

CudaBackend::~CudaBackend() {
  // At process exit the runtime may already be unloading: nothing useful can be done with an error here.
  for (void* p : scratch_)
    if (p) cudaFreeAsync(p, stream_);
  if (lt_) cublasLtDestroy(lt_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::string CudaBackend::name() const {
  return "cuda (" + device_name_ + "; GEMMs: cuBLASLt " + std::to_string(cublasLtGetVersion()) + ")";
}

void* CudaBackend::alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  cudaError_t status = cudaMallocAsync(&p, bytes, stream_);
  if (status == cudaErrorMemoryAllocation) {
    // Blocks cached by the pool may be free but fragmented: hand them back to the driver and try once more.
    cudaGetLastError();
    cudaMemPool_t pool = nullptr;
    TANDEM_CUDA_CHECK(cudaStreamSynchronize(stream_));
    TANDEM_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device_));
    TANDEM_CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
    status = cudaMallocAsync(&p, bytes, stream_);
  }
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_bytes = 0, total = 0;
    cudaMemGetInfo(&free_bytes, &total);
    char msg[256];
    std::snprintf(msg, sizeof msg, "out of GPU memory: asked for %.1f MiB, %.1f MiB free of %.1f MiB on %s",
                  mib(bytes), mib(free_bytes), mib(total), device_name_.c_str());
    fail(msg, " (a smaller per_device_train_batch_size or max_length, gradient_checkpointing = true, or LoRA "
              "needs less)");
  }
  TANDEM_CUDA_CHECK(status, " allocating ", bytes, " bytes");
  TANDEM_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));
  return p;
}

void CudaBackend::free(void* p) {
  if (!p) return;
  const cudaError_t status = cudaFreeAsync(p, stream_);
  if (status != cudaErrorCudartUnloading) TANDEM_CUDA_CHECK(status);
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes) TANDEM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (!bytes) return;
  TANDEM_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
  TANDEM_CUDA_CHECK(cudaStreamSynchronize(stream_));  // the host buffer may be freed when this returns
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (!bytes) return;
  TANDEM_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  TANDEM_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::fill_zero(void* p, size_t bytes) {
  if (bytes) TANDEM_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));
}

void* CudaBackend::scratch(int slot, size_t bytes) {
  TANDEM_CHECK(slot >= 0 && slot < kScratchSlots, "cuda backend: scratch slot ", slot, " out of range");
  if (scratch_bytes_[size_t(slot)] < bytes) {
    free(scratch_[size_t(slot)]);
    scratch_[size_t(slot)] = nullptr;  // alloc may throw: never leave a freed pointer behind
    scratch_bytes_[size_t(slot)] = 0;
    scratch_[size_t(slot)] = alloc(bytes);
    scratch_bytes_[size_t(slot)] = bytes;
  }
  return scratch_[size_t(slot)];
}

void CudaBackend::check_on_device(const char* op, const Tensor& t) const {
  TANDEM_CHECK(t.allocator() == this, "cuda backend: op ", op, ": tensor ", t.name, " is on ",
               device_str(t.device()), ", not on this GPU");
}

cuda::In CudaBackend::in(const char* op, const Tensor& t) const {
  if (t.empty()) return {};
  check_on_device(op, t);
  TANDEM_CHECK(t.dtype() == DType::kF32 || t.dtype() == DType::kBF16, "cuda backend: op ", op, " has no ",
               dtype_str(t.dtype()), " kernel (tensor ", t.name, ")");
  return {t.raw(), t.dtype() == DType::kBF16};
}
cuda::In CudaBackend::in(const char* op, const Tensor* t) const { return t ? in(op, *t) : cuda::In{}; }

cuda::Out CudaBackend::out(const char* op, Tensor& t) const {
  const cuda::In i = in(op, t);
  return {const_cast<void*>(i.p), i.bf16};
}
cuda::Out CudaBackend::out(const char* op, Tensor* t) const { return t ? out(op, *t) : cuda::Out{}; }

const int32_t* CudaBackend::ints(const char* op, const Tensor* t) const {
  if (!t || t->empty()) return nullptr;
  check_on_device(op, *t);
  TANDEM_CHECK(t->dtype() == DType::kI32, "cuda backend: op ", op, ": tensor ", t->name, " is ",
               dtype_str(t->dtype()), ", expected i32");
  return static_cast<const int32_t*>(t->raw());
}

}  // namespace tandem
