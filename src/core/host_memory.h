// How much host memory a new allocation can get: the kernel's MemAvailable, capped by the cgroup (container)
// limit when one is set. Used to refuse a run that would not fit before it allocates anything.
#pragma once
#include <cstdint>

namespace tandem {

// Bytes, or -1 when the system does not say (no /proc/meminfo).
int64_t available_host_bytes();

}  // namespace tandem
