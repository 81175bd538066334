#include "data/stream.h"

#include <numeric>

#include "core/check.h"
#include "core/rng.h"

namespace tandem {

DataStream::DataStream(int64_t num_examples, int64_t batch_size, uint64_t seed, bool shuffle)
    : n_(num_examples), batch_(batch_size), seed_(seed), shuffle_(shuffle) {
  TANDEM_CHECK(n_ > 0, "data stream: no examples");
  TANDEM_CHECK(batch_ > 0, "data stream: batch size must be > 0");
  build_order();
}

void DataStream::build_order() {
  order_.resize(n_);
  std::iota(order_.begin(), order_.end(), 0);
  if (!shuffle_) return;
  Rng rng(seed_ * 1000003ULL + uint64_t(epoch_));
  for (int64_t i = n_ - 1; i > 0; --i) std::swap(order_[i], order_[int64_t(rng.below(uint64_t(i + 1)))]);
}

std::vector<int64_t> DataStream::next() {
  std::vector<int64_t> out;
  while (int64_t(out.size()) < batch_) {
    if (position_ == n_) {
      ++epoch_;
      position_ = 0;
      build_order();
    }
    out.push_back(order_[position_++]);
  }
  return out;
}

std::vector<int64_t> DataStream::peek() const {
  DataStream copy = *this;
  return copy.next();
}

void DataStream::load_state(const nlohmann::json& s) {
  epoch_ = s.at("epoch").get<int64_t>();
  position_ = s.at("position").get<int64_t>();
  TANDEM_CHECK(position_ >= 0 && position_ <= n_, "data stream state: position ", position_, " outside 0..", n_,
               " (checkpoint from a different dataset?)");
  build_order();
}

}  // namespace tandem
