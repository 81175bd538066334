#include "data/examples.h"

namespace tandem {

uint64_t dataset_hash(const std::vector<PreferenceExample>& data) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](int64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= uint64_t(v >> (8 * i)) & 0xff;
      h *= 1099511628211ULL;
    }
  };
  for (const auto& e : data)
    for (const auto* part : {&e.prompt, &e.chosen, &e.rejected}) {
      mix(int64_t(part->size()));
      for (int32_t t : *part) mix(t);
    }
  return h;
}

}  // namespace tandem
