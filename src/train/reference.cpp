#include "train/reference.h"

#include <cstring>
#include <filesystem>

#include "core/check.h"
#include "io/safetensors.h"

namespace tandem {

uint64_t weights_hash(const ModelWeights& w) {
  uint64_t h = 1469598103934665603ULL;
  for_each_tensor(w, [&](const Tensor& t) {
    for (char c : t.name) h = (h ^ uint8_t(c)) * 1099511628211ULL;
    for (float v : t.to_floats()) {
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      h = (h ^ bits) * 1099511628211ULL;
    }
  });
  return h;
}

PairLogps split_pairs(const SequenceLogprobs& out) {
  const size_t n = out.logp.size() / 2;
  PairLogps p;
  p.chosen.assign(out.logp.begin(), out.logp.begin() + n);
  p.rejected.assign(out.logp.begin() + n, out.logp.end());
  p.chosen_tokens.assign(out.tokens.begin(), out.tokens.begin() + n);
  p.rejected_tokens.assign(out.tokens.begin() + n, out.tokens.end());
  return p;
}

PairLogps reference_logps(DecoderModel& model, const std::vector<PreferenceExample>& data, const Truncation& trunc,
                          int64_t batch_size, const std::string& cache_dir, bool shared, bool* cache_hit) {
  char key[160];
  std::snprintf(key, sizeof key, "reference-%016llx-%016llx-%lld-%lld%s%s.safetensors",
                (unsigned long long)weights_hash(model.weights()), (unsigned long long)dataset_hash(data),
                (long long)trunc.max_length, (long long)trunc.max_prompt_length, trunc.keep_prompt_start ? "-start" : "",
                shared ? "-shared" : "");
  const std::string path = cache_dir.empty() ? "" : cache_dir + "/" + key;
  if (cache_hit) *cache_hit = false;
  if (!path.empty() && std::filesystem::exists(path)) {
    const SafetensorsFile f(path);
    const Tensor c = f.load("chosen"), r = f.load("rejected");
    const Tensor nc = f.load("chosen_tokens"), nr = f.load("rejected_tokens");
    TANDEM_CHECK(int64_t(c.numel()) == int64_t(data.size()), path, ": cache holds ", c.numel(), " pairs, dataset has ",
                 data.size());
    if (cache_hit) *cache_hit = true;
    auto values = [](const Tensor& t) {
      const std::vector<float> v = t.to_floats();
      return std::vector<double>(v.begin(), v.end());
    };
    auto counts = [](const Tensor& t) {
      const std::vector<float> v = t.to_floats();
      return std::vector<int64_t>(v.begin(), v.end());
    };
    return {values(c), values(r), counts(nc), counts(nr)};
  }

  PairLogps all;
  for (size_t start = 0; start < data.size(); start += size_t(batch_size)) {
    std::vector<const PreferenceExample*> chunk;
    for (size_t i = start; i < std::min(data.size(), start + size_t(batch_size)); ++i) chunk.push_back(&data[i]);
    const PairLogps p =
        split_pairs(model.forward(shared ? collate_preference_shared(chunk, trunc) : collate_preference(chunk, trunc)));
    all.chosen.insert(all.chosen.end(), p.chosen.begin(), p.chosen.end());
    all.rejected.insert(all.rejected.end(), p.rejected.begin(), p.rejected.end());
    all.chosen_tokens.insert(all.chosen_tokens.end(), p.chosen_tokens.begin(), p.chosen_tokens.end());
    all.rejected_tokens.insert(all.rejected_tokens.end(), p.rejected_tokens.begin(), p.rejected_tokens.end());
  }
  if (!path.empty()) {
    std::filesystem::create_directories(cache_dir);
    const int64_t n = int64_t(data.size());
    Tensor c("chosen", {n}), r("rejected", {n}), nc("chosen_tokens", {n}), nr("rejected_tokens", {n});
    c.assign({all.chosen.begin(), all.chosen.end()});
    r.assign({all.rejected.begin(), all.rejected.end()});
    nc.assign({all.chosen_tokens.begin(), all.chosen_tokens.end()});
    nr.assign({all.rejected_tokens.begin(), all.rejected_tokens.end()});
    save_safetensors(path, {&c, &r, &nc, &nr});
    // Use exactly what a later run will read back, so a cached and an uncached run train identically.
    return reference_logps(model, data, trunc, batch_size, cache_dir, shared, nullptr);
  }
  return all;
}

}  // namespace tandem
