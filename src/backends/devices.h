// Which backend a run computes on: the `device` a config names. "cpu" (the default), "cuda" (the first visible
// NVIDIA GPU; an error that says why when there is none or this build lacks the CUDA backend), or "auto" (cuda when
// a GPU is usable, else cpu).
#pragma once
#include <cstdint>
#include <string>

#include "backends/backend.h"

namespace tandem {

// Whether this build has the CUDA backend (CMake's TANDEM_CUDA).
bool cuda_compiled();
// Whether a CUDA GPU can be used now; when not, `why` says what is missing (not compiled, no driver, no device).
bool cuda_usable(std::string* why = nullptr);
// The process-wide CUDA backend on the first visible GPU; throws with cuda_usable's reason when there is none.
Backend& cuda_backend();

// The CUDA runtime's and cuBLASLt's versions, e.g. "CUDA runtime 13000, cuBLASLt 130001" (loads cuBLASLt; needs no
// GPU); "" in a build without the CUDA backend.
std::string cuda_library_versions();

// The most memory a GPU backend has held at once (the CUDA pool's high-water mark, as PyTorch's
// max_memory_allocated); -1 for a backend that does not track it (the CPU's).
int64_t device_peak_memory_bytes(Backend& backend);

// "cpu", "cuda" or "auto" (see above); anything else is an error listing the three.
Backend& backend_for_device(const std::string& device);

}  // namespace tandem
