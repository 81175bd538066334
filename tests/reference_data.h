// Helpers for tests that read the PyTorch reference files (tests/reference/make_reference.py).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "io/safetensors.h"
#include "model/batch.h"

namespace tandem::testing {

// The padded batch stored as tokens / lengths / loss_mask.
inline Batch reference_batch(const SafetensorsFile& e) {
  const Shape shape = e.entry("tokens").shape;
  Batch b(shape[0], shape[1]);
  b.tokens = e.load_ints("tokens");
  b.lengths = e.load_ints("lengths");
  const std::vector<int32_t> mask = e.load_ints("loss_mask");
  b.loss_mask.assign(mask.begin(), mask.end());
  return b;
}

// max |got - want| / max |want| over the entries where keep is set (all when keep is null).
inline double max_relative_error(const float* got, const Tensor& want, const std::vector<uint8_t>* keep = nullptr) {
  double err = 0, scale = 1e-12;
  for (int64_t i = 0; i < want.numel(); ++i) {
    if (keep && !(*keep)[i]) continue;
    err = std::max(err, std::abs(double(got[i]) - double(want.ptr()[i])));
    scale = std::max(scale, std::abs(double(want.ptr()[i])));
  }
  return err / scale;
}

}  // namespace tandem::testing
