#include "data/examples.h"

#include <array>

namespace tandem {

namespace {
template <typename Example, typename Parts>
uint64_t hash_tokens(const std::vector<Example>& data, Parts parts) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](int64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= uint64_t(v >> (8 * i)) & 0xff;
      h *= 1099511628211ULL;
    }
  };
  for (const auto& e : data)
    for (const std::vector<int32_t>* part : parts(e)) {
      mix(int64_t(part->size()));
      for (int32_t t : *part) mix(t);
    }
  return h;
}
}  // namespace

uint64_t dataset_hash(const std::vector<PreferenceExample>& data) {
  return hash_tokens(data, [](const PreferenceExample& e) {
    return std::array<const std::vector<int32_t>*, 3>{&e.prompt, &e.chosen, &e.rejected};
  });
}

uint64_t dataset_hash(const std::vector<SftExample>& data) {
  return hash_tokens(data, [](const SftExample& e) {
    return std::array<const std::vector<int32_t>*, 2>{&e.prompt, &e.completion};
  });
}

}  // namespace tandem
