// The CUDA entry points of a build without the CUDA backend (TANDEM_CUDA off, or no nvcc at configure time).
#include "backends/devices.h"
#include "core/check.h"

namespace tandem {

namespace {
constexpr const char* kNotBuilt =
    "this tandem was built without the CUDA backend (configure with -DTANDEM_CUDA=ON; needs nvcc, cuBLAS)";
}

bool cuda_compiled() { return false; }

bool cuda_usable(std::string* why) {
  if (why) *why = kNotBuilt;
  return false;
}

Backend& cuda_backend() { fail("device \"cuda\": ", kNotBuilt); }

int64_t device_peak_memory_bytes(Backend&) { return -1; }

std::string cuda_library_versions() { return ""; }

}  // namespace tandem
