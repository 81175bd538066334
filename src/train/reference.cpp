#include "train/reference.h"

#include <cstring>
#include <filesystem>

#include "core/check.h"
#include "dist/shards.h"
#include "io/safetensors.h"

namespace tandem {

uint64_t tensors_hash(const std::vector<const Tensor*>& tensors) {
  uint64_t h = 1469598103934665603ULL;
  for (const Tensor* t : tensors) {
    for (char c : t->name) h = (h ^ uint8_t(c)) * 1099511628211ULL;
    for (float v : t->to_floats()) {
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      h = (h ^ bits) * 1099511628211ULL;
    }
  }
  return h;
}

uint64_t weights_hash(const ModelWeights& w) {
  std::vector<const Tensor*> tensors;
  for_each_tensor(w, [&](const Tensor& t) { tensors.push_back(&t); });
  return tensors_hash(tensors);
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

PairLogps gather_pairs(Comm& comm, const PairLogps& mine, int64_t* offset) {
  // One collective: each rank sends [n, chosen, rejected, chosen_tokens, rejected_tokens].
  const size_t n = mine.size();
  std::vector<double> packed = {double(n)};
  packed.insert(packed.end(), mine.chosen.begin(), mine.chosen.end());
  packed.insert(packed.end(), mine.rejected.begin(), mine.rejected.end());
  packed.insert(packed.end(), mine.chosen_tokens.begin(), mine.chosen_tokens.end());
  packed.insert(packed.end(), mine.rejected_tokens.begin(), mine.rejected_tokens.end());
  const std::vector<double> all = allgather_concat(comm, packed);
  PairLogps out;
  size_t at = 0;
  for (int r = 0; r < comm.size(); ++r) {
    const size_t m = size_t(all.at(at++));
    if (r == comm.rank() && offset) *offset = int64_t(out.size());
    auto part = [&](size_t k) { return all.begin() + std::ptrdiff_t(at + k * m); };
    out.chosen.insert(out.chosen.end(), part(0), part(1));
    out.rejected.insert(out.rejected.end(), part(1), part(2));
    for (auto it = part(2); it != part(3); ++it) out.chosen_tokens.push_back(int64_t(*it));
    for (auto it = part(3); it != part(4); ++it) out.rejected_tokens.push_back(int64_t(*it));
    at += 4 * m;
  }
  return out;
}

PairLogps sharded_pair_logps(Comm& comm, DecoderModel& model, const std::vector<PreferenceExample>& data,
                             const Truncation& trunc, int64_t batch_size, bool shared) {
  const auto [begin, end] = even_range(int64_t(data.size()), comm.rank(), comm.size());
  PairLogps mine;
  for (int64_t start = begin; start < end; start += batch_size) {
    std::vector<const PreferenceExample*> chunk;
    for (int64_t i = start; i < std::min(end, start + batch_size); ++i) chunk.push_back(&data[size_t(i)]);
    const PairLogps p =
        split_pairs(model.forward(shared ? collate_preference_shared(chunk, trunc) : collate_preference(chunk, trunc)));
    mine.chosen.insert(mine.chosen.end(), p.chosen.begin(), p.chosen.end());
    mine.rejected.insert(mine.rejected.end(), p.rejected.begin(), p.rejected.end());
    mine.chosen_tokens.insert(mine.chosen_tokens.end(), p.chosen_tokens.begin(), p.chosen_tokens.end());
    mine.rejected_tokens.insert(mine.rejected_tokens.end(), p.rejected_tokens.begin(), p.rejected_tokens.end());
  }
  return gather_pairs(comm, mine);
}

namespace {

PairLogps read_cache(const std::string& path, size_t pairs) {
  const SafetensorsFile f(path);
  const Tensor c = f.load("chosen"), r = f.load("rejected");
  const Tensor nc = f.load("chosen_tokens"), nr = f.load("rejected_tokens");
  TANDEM_CHECK(size_t(c.numel()) == pairs, path, ": cache holds ", c.numel(), " pairs, dataset has ", pairs);
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

void write_cache(const std::string& path, const PairLogps& all) {
  const int64_t n = int64_t(all.size());
  Tensor c("chosen", {n}), r("rejected", {n}), nc("chosen_tokens", {n}), nr("rejected_tokens", {n});
  c.assign({all.chosen.begin(), all.chosen.end()});
  r.assign({all.rejected.begin(), all.rejected.end()});
  nc.assign({all.chosen_tokens.begin(), all.chosen_tokens.end()});
  nr.assign({all.rejected_tokens.begin(), all.rejected_tokens.end()});
  save_safetensors(path, {&c, &r, &nc, &nr});
}

// What reading the cache back gives (its values are f32), so cached and uncached runs train identically.
void round_as_cached(PairLogps& p) {
  for (double& v : p.chosen) v = double(float(v));
  for (double& v : p.rejected) v = double(float(v));
}

}  // namespace

PairLogps reference_logps(DecoderModel& model, const std::vector<PreferenceExample>& data, const Truncation& trunc,
                          int64_t batch_size, const std::string& cache_dir, bool shared, bool* cache_hit,
                          Comm& comm) {
  char key[160];
  std::snprintf(key, sizeof key, "reference-%016llx-%016llx-%lld-%lld%s%s.safetensors",
                (unsigned long long)weights_hash(model.weights()), (unsigned long long)dataset_hash(data),
                (long long)trunc.max_length, (long long)trunc.max_prompt_length, trunc.keep_prompt_start ? "-start" : "",
                shared ? "-shared" : "");
  const std::string path = cache_dir.empty() ? "" : cache_dir + "/" + key;
  int64_t hit = comm.rank() == 0 && !path.empty() && std::filesystem::exists(path);
  comm.broadcast(&hit, sizeof hit, 0);
  if (cache_hit) *cache_hit = hit != 0;
  if (hit) {  // rank 0 reads; the others need no access to its disk
    PairLogps p = comm.rank() == 0 ? read_cache(path, data.size()) : PairLogps{};
    return comm.size() == 1 ? p : gather_pairs(comm, p);
  }
  PairLogps all = sharded_pair_logps(comm, model, data, trunc, batch_size, shared);
  if (path.empty()) return all;
  if (comm.rank() == 0) {
    std::filesystem::create_directories(cache_dir);
    write_cache(path, all);
  }
  round_as_cached(all);
  return all;
}

}  // namespace tandem
