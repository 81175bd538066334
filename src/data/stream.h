// An endless, seeded, shuffled stream of example indices with its own epoch counter. The order of epoch e is
// a permutation drawn from (seed, e) alone, so the stream's whole state is (epoch, position): checkpoints
// store two integers and a resumed run sees exactly the batches an uninterrupted one would.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace tandem {

class DataStream {
 public:
  DataStream(int64_t num_examples, int64_t batch_size, uint64_t seed, bool shuffle = true);

  std::vector<int64_t> next();  // the next batch of indices; crosses epoch boundaries
  std::vector<int64_t> peek() const;
  int64_t epoch() const { return epoch_; }
  double epochs_done() const { return double(epoch_) + double(position_) / double(n_); }
  int64_t batches_per_epoch() const { return (n_ + batch_ - 1) / batch_; }

  nlohmann::json state() const { return {{"epoch", epoch_}, {"position", position_}}; }
  void load_state(const nlohmann::json& s);

 private:
  void build_order();
  int64_t n_, batch_;
  uint64_t seed_;
  bool shuffle_;
  int64_t epoch_ = 0, position_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace tandem
