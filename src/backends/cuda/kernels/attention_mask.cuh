// Which keys a query row may see (backends/attention_shape.h), for the CUDA attention kernels and, compiled as plain
// C++, for the host test that checks it against the dense definition (tests/test_cuda_attention_host.cpp): row i
// of a sequence sees key j iff j <= i, (j >= segment_start or j < prefix_end) and i - j < window (window 0: off).
// The same rule as the CPU kernel's Visible (src/backends/cpu/kernels/attention.cpp).
#pragma once
#include <cstdint>

#include "backends/cuda/kernels/host_device.h"

namespace tandem::cuda {

// The first key the sliding window keeps for row i (0 when the window is off or reaches back past key 0).
TANDEM_HOST_DEVICE int64_t window_first(int64_t i, int64_t window) {
  return window > 0 && window <= i ? i - window + 1 : 0;
}

// What row i sees: keys in [first, i] that lie in its segment [lo, i] or its shared prefix [0, pre).
struct RowKeys {
  int64_t i, lo, pre, first;

  TANDEM_HOST_DEVICE bool sees(int64_t j) const { return j >= first && j <= i && (j >= lo || j < pre); }

  // Whether the row sees any key of [j0, j1): the segment part [max(first, lo), i] or the prefix part
  // [first, min(pre - 1, i)] meets the range.
  TANDEM_HOST_DEVICE bool sees_any(int64_t j0, int64_t j1) const {
    const int64_t hi = i < j1 - 1 ? i : j1 - 1;
    const int64_t from = first > j0 ? first : j0;
    const int64_t segment_from = from > lo ? from : lo;
    const int64_t prefix_hi = pre - 1 < hi ? pre - 1 : hi;
    return segment_from <= hi || from <= prefix_hi;
  }
};

// Row i of the sequence whose row 0 has mask index flat0; null mask arrays: plain causal.
TANDEM_HOST_DEVICE RowKeys row_keys(int64_t i, int64_t flat0, const int32_t* segment_start, const int32_t* prefix_end,
                                    int64_t window) {
  return {i, segment_start ? int64_t(segment_start[flat0 + i]) : 0, prefix_end ? int64_t(prefix_end[flat0 + i]) : 0,
          window_first(i, window)};
}

// The first key tile (tiles start at multiples of `tile`) that rows [i0, ...) may see: the window hides every key
// before row i0's first (later rows' windows start later still).
TANDEM_HOST_DEVICE int64_t first_key_tile(int64_t i0, int64_t window, int64_t tile) {
  return window_first(i0, window) / tile * tile;
}

// One past the last query row that may see a key of [j0, j1), given the sequence's `length` real rows: rows before
// j0 see only earlier keys (causal), and with a window row i sees key j only when i < j + window.
TANDEM_HOST_DEVICE int64_t rows_end_for_keys(int64_t j1, int64_t length, int64_t window) {
  const int64_t end = window > 0 ? j1 - 1 + window : length;
  return end < length ? end : length;
}

}  // namespace tandem::cuda
