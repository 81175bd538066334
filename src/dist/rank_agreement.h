// Checks that the ranks of a run agree on what must be the same everywhere, so a mistake shows at start-up as one
// clear message instead of as a hang or as silently different replicas.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "dist/comm.h"

namespace tandem {

// Every rank passes its own view (config and data fingerprints, as flat JSON). Throws CollectiveError on every rank,
// naming each key and rank that differs from rank 0, with both values.
void check_same_on_every_rank(Comm& comm, const nlohmann::json& mine, const std::string& what);

// Replicas must stay bit-identical; `weights_hash` is this rank's hash of its weights. Throws CollectiveError when
// they differ (a non-deterministic reduction or a rank with other weights), naming the ranks.
void check_replicas_agree(Comm& comm, uint64_t weights_hash, int64_t step);

// The ranks (in order) where `ok` is false; empty when every rank is ok.
std::string ranks_where_not(Comm& comm, bool ok);

}  // namespace tandem
