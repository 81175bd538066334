#include "dist/rank_agreement.h"

namespace tandem {

namespace {
std::string shortened(const nlohmann::json& v) {
  const std::string s = v.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}
}  // namespace

void check_same_on_every_rank(Comm& comm, const nlohmann::json& mine, const std::string& what) {
  if (comm.size() == 1) return;
  const nlohmann::json root = nlohmann::json::parse(broadcast_string(comm, mine.dump()));
  std::string diff;
  for (const auto& [key, value] : mine.items())
    if (!root.contains(key) || root[key] != value)
      diff += " " + key + " = " + shortened(value) + " (rank 0: " + (root.contains(key) ? shortened(root[key]) : "unset") + ");";
  for (const auto& [key, value] : root.items())
    if (!mine.contains(key)) diff += " " + key + " unset (rank 0: " + shortened(value) + ");";
  const std::vector<std::string> all = allgather_strings(comm, diff);
  std::string message;
  for (size_t r = 0; r < all.size(); ++r)
    if (!all[r].empty()) message += "\n  rank " + std::to_string(r) + ":" + all[r];
  if (!message.empty())
    throw CollectiveError("the ranks disagree on " + what + " (every rank must run the same config on the same "
                          "data):" + message);
}

void check_replicas_agree(Comm& comm, uint64_t weights_hash, int64_t step) {
  if (comm.size() == 1) return;
  const std::vector<int64_t> hashes = allgather_concat(comm, std::vector<int64_t>{int64_t(weights_hash)});
  std::string differ;
  for (size_t r = 1; r < hashes.size(); ++r)
    if (hashes[r] != hashes[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  if (!differ.empty())
    throw CollectiveError("step " + std::to_string(step) + ": the weights of rank(s) " + differ +
                          " differ from rank 0's; the replicas have drifted apart, so nothing was saved");
}

std::string ranks_where_not(Comm& comm, bool ok) {
  const std::vector<int64_t> flags = allgather_concat(comm, std::vector<int64_t>{ok ? 1 : 0});
  std::string out;
  for (size_t r = 0; r < flags.size(); ++r)
    if (flags[r] == 0) out += (out.empty() ? "" : ", ") + std::to_string(r);
  return out;
}

}  // namespace tandem
