// Which elements of the trainable parameters each rank owns under ZeRO-1 optimizer-state sharding. The parameters,
// in order, form one flat element space; rank r of N owns one contiguous range of it, all ranges within one element
// of each other in size (element granularity, as DeepSpeed's ZeRO-1 flattens its partitions), so memory stays
// balanced even when one tensor (the embedding) is most of the model. A tensor meets a rank's range in one
// contiguous, possibly empty, sub-range of its own elements.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem {

// Elements [begin, end) of one tensor, in its own (row-major) numbering.
struct ElementRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
  bool empty() const { return end <= begin; }
};

class ShardPlan {
 public:
  ShardPlan() = default;
  // `numels`: each parameter's element count, in the optimizer's order; `world`: the number of ranks.
  ShardPlan(std::vector<int64_t> numels, int world);

  int world() const { return world_; }
  int64_t total() const { return offsets_.back(); }
  size_t tensors() const { return numels_.size(); }
  int64_t numel(size_t tensor) const { return numels_.at(tensor); }
  int64_t offset(size_t tensor) const { return offsets_.at(tensor); }  // the tensor's first flat element
  // Rank r's flat range: even_range(total, r, N) of dist/shards.h.
  ElementRange rank_range(int rank) const;
  // The part of `tensor` that `rank` owns, in the tensor's own element numbering.
  ElementRange slice(size_t tensor, int rank) const;

 private:
  std::vector<int64_t> numels_;
  std::vector<int64_t> offsets_{0};  // tensor i starts at flat element offsets_[i]; the last entry is the total
  int world_ = 1;
};

}  // namespace tandem
