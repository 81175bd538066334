// Reference-model log-probs for DPO-family losses. The reference is the policy before training, so its
// log-probs of each preference pair never change: they are computed once per (model, dataset, truncation)
// and cached on disk, and training runs no second model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/collate.h"
#include "dist/comm.h"
#include "model/decoder_model.h"
#include "objectives/objectives.h"

namespace tandem {

// FNV-1a over tensors' names and value bits (as f32): identifies the model in cache keys (weights_hash), and lets
// data-parallel ranks check that their replicas agree.
uint64_t tensors_hash(const std::vector<const Tensor*>& tensors);
uint64_t weights_hash(const ModelWeights& w);

// Policy log-probs of pairs: rows [0, n) of `out` are the chosen sequences, [n, 2n) the rejected ones, as
// collate_preference lays them out.
PairLogps split_pairs(const SequenceLogprobs& out);

// Every rank's pairs concatenated in rank order, on every rank; `offset`, when non-null, receives where this
// rank's pairs start.
PairLogps gather_pairs(Comm& comm, const PairLogps& mine, int64_t* offset = nullptr);

// Log-probs of every pair in `data` under `model`, in batches of `batch_size`, the work split over the ranks
// (each computes a contiguous range; every rank gets them all). `shared` picks the prefix-sharing layout, as
// training uses it, so reference and policy are computed alike.
PairLogps sharded_pair_logps(Comm& comm, DecoderModel& model, const std::vector<PreferenceExample>& data,
                             const Truncation& trunc, int64_t batch_size, bool shared);

// sharded_pair_logps, read from `cache_dir` when present (cache_dir may be empty: no caching); rank 0 reads and
// writes the cache. `cache_hit`, when non-null, reports whether the cache was used.
PairLogps reference_logps(DecoderModel& model, const std::vector<PreferenceExample>& data, const Truncation& trunc,
                          int64_t batch_size, const std::string& cache_dir, bool shared = false,
                          bool* cache_hit = nullptr, Comm& comm = world());

}  // namespace tandem
