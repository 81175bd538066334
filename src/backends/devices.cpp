#include "backends/devices.h"

#include "core/check.h"

namespace tandem {

Backend& backend_for_device(const std::string& device) {
  if (device == "cpu") return cpu_backend();
  if (device == "cuda") return cuda_backend();
  if (device == "auto") return cuda_usable() ? cuda_backend() : cpu_backend();
  fail("device \"", device, "\": expected \"cpu\", \"cuda\" or \"auto\"");
}

}  // namespace tandem
