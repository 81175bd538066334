// AdamW with its state sharded over the ranks (ZeRO-1): each rank keeps the first and second moments, and the f32
// master copies of bf16 parameters, only for the elements it owns (dist/shard_plan.h), updates only those elements,
// then every rank receives the whole updated weights by an allgather of the owned slices. Gradients arrive already
// summed over ranks and whole on every rank; weights stay whole on every rank.
//
// The arithmetic is AdamW::step's, run by the same backend op on views of each owned sub-range, so the weights are
// bit for bit those of AdamW on one process with the same gradients. With one rank it is AdamW.
//
// Checkpoints keep AdamW's format whatever the world size: gather_full() collects the state into an ordinary AdamW
// on one rank (which save_checkpoint writes), load_full() keeps this rank's slice of an AdamW every rank loaded. So
// a run resumes with another world size, or with sharding switched on or off: the state is resharded at load.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "dist/comm.h"
#include "dist/shard_plan.h"
#include "optim/adamw.h"

namespace tandem {

class ShardedAdamW {
 public:
  // `max_collective_bytes`: the most bytes one rank sends in one allgather or gather (MPI counts are ints); larger
  // ranges go in several windows.
  ShardedAdamW(AdamWConfig config, Comm& comm, int64_t max_collective_bytes = int64_t{1} << 30);

  // As AdamW::step, for this rank's elements, then the allgather that makes every rank's weights whole again.
  // Every rank calls it with the same parameters (same order, shapes and storage types) and the same gradients.
  void step(const std::vector<ParamRef>& params, double lr, double grad_scale = 1.0);

  // This rank's state for `params`: zero moments, master copies of its slices of the bf16 parameters (from their
  // current values). step() calls it first; load_full() calls it before filling the state in.
  void init_state(const std::vector<ParamRef>& params);
  bool has_state() const { return has_state_; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t s) { steps_ = s; }
  const AdamWConfig& config() const { return config_; }
  const ShardPlan& plan() const { return plan_; }
  // This rank's slice of parameter i, and its state (empty tensors where the slice is empty or, for master copies,
  // where the parameter is not bf16).
  ElementRange owned(size_t i) const { return owned_.at(i); }
  const std::vector<Tensor>& exp_avg() const { return m_; }
  const std::vector<Tensor>& exp_avg_sq() const { return v_; }
  const std::vector<Tensor>& master_weights() const { return master_; }

  // Bytes of optimizer state (moments and master copies, without the arena's alignment padding) this rank holds,
  // and what one unsharded AdamW holds for the same parameters: the difference is the memory saved per rank.
  int64_t state_bytes() const;
  int64_t full_state_bytes() const;

  // The whole state in an ordinary AdamW on `root` (moments, master copies, step count), for save_checkpoint; on
  // the other ranks an AdamW with the step count and no tensors. A collective: every rank calls it.
  AdamW gather_full(const std::vector<ParamRef>& params, int root = 0);
  // Takes this rank's slice of `full`, a whole AdamW state for `params`; an AdamW without state (not yet stepped)
  // gives fresh state. A collective (init_state).
  void load_full(const std::vector<ParamRef>& params, AdamW& full);

  // Which tensor of a parameter's state: AdamW's "<param>.exp_avg", ".exp_avg_sq", ".master".
  enum class Part { kExpAvg, kExpAvgSq, kMaster };
  // This rank's slice of each state tensor, read whole by `whole(param, part)` one at a time and only where this
  // rank owns part of it, so a checkpoint's state is never held whole (train/checkpoint.h reads it so); `steps`
  // updates were taken. A collective (init_state).
  void load_slices(const std::vector<ParamRef>& params, int64_t steps,
                   const std::function<Tensor(size_t param, Part part)>& whole);

 private:
  void check_params(const std::vector<ParamRef>& params) const;
  // Every rank's updated slices to every rank, in place in the parameters.
  void allgather_weights(const std::vector<ParamRef>& params);
  // Rank 0..N-1's slices of one state tensor (this rank's is `mine`) into `full` on root.
  void gather_tensor(size_t i, DType dtype, const Tensor& mine, Tensor* full, int root);

  AdamWConfig config_;
  Comm& comm_;
  int64_t max_collective_bytes_;
  ShardPlan plan_;
  bool has_state_ = false;
  int64_t steps_ = 0;
  std::vector<DType> dtypes_;  // each parameter's storage type
  std::vector<ElementRange> owned_;
  Tensor state_;  // the block every tensor of m_, v_ and master_ is a view of
  std::vector<Tensor> m_, v_, master_;
};

}  // namespace tandem
