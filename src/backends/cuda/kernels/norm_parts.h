// How the norms' weight gradients split rows into parts (kernels/norms.cu): at most kMaxParts parts of
// rows_per_part rows, none empty, so that per-part column sums added in part order are deterministic. Host and
// device (tests/test_cuda_kernels_host.cpp checks the cover).
#pragma once
#include <cstdint>

#include "backends/cuda/kernels/host_device.h"

namespace tandem::cuda {

constexpr int64_t kNormMaxParts = 128;

TANDEM_HOST_DEVICE int64_t norm_rows_per_part(int64_t rows) { return (rows + kNormMaxParts - 1) / kNormMaxParts; }

// The number of parts (0 for no rows); part p holds rows [p * per, min(rows, (p + 1) * per)).
TANDEM_HOST_DEVICE int64_t norm_parts(int64_t rows) {
  if (rows <= 0) return 0;
  const int64_t per = norm_rows_per_part(rows);
  return (rows + per - 1) / per;
}

}  // namespace tandem::cuda
