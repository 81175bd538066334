#include "dist/sharded_adamw.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>

#include "backends/backend.h"
#include "core/arena.h"
#include "core/check.h"

namespace tandem {

namespace {

// AdamW's choice: f64 parameters keep f64 moments, every other storage type f32.
DType state_dtype(DType param) { return param == DType::kF64 ? DType::kF64 : DType::kF32; }

// Elements r of `t` as a flat tensor over its storage (no copy).
Tensor slice_view(Tensor& t, ElementRange r) {
  return Tensor::view(t.name + " [" + std::to_string(r.begin) + ":" + std::to_string(r.end) + "]", {r.size()},
                      t.dtype(), t, r.begin * dtype_bytes(t.dtype()));
}

// Calls fn(window, counts, displs) for consecutive windows of the flat elements `range`, each at most
// `max_elements` long, with every rank's part of the window as byte counts and byte offsets from the window's
// start. Every rank derives the same windows from the plan, so every rank makes the same collectives.
template <typename Fn>
void for_each_window(const ShardPlan& plan, ElementRange range, int64_t elem_bytes, int64_t max_elements, Fn&& fn) {
  for (int64_t first = range.begin; first < range.end; first += max_elements) {
    const ElementRange w{first, std::min(range.end, first + max_elements)};
    std::vector<int64_t> counts, displs;
    for (int r = 0; r < plan.world(); ++r) {
      const ElementRange o = plan.rank_range(r);
      const int64_t b = std::clamp(o.begin, w.begin, w.end), e = std::clamp(o.end, w.begin, w.end);
      counts.push_back((e - b) * elem_bytes);
      displs.push_back((b - w.begin) * elem_bytes);
    }
    fn(w, counts, displs);
  }
}

}  // namespace

ShardedAdamW::ShardedAdamW(AdamWConfig config, Comm& comm, int64_t max_collective_bytes)
    : config_(config), comm_(comm), max_collective_bytes_(max_collective_bytes) {
  TANDEM_CHECK(max_collective_bytes >= 8, "ShardedAdamW: max_collective_bytes ", max_collective_bytes,
               " is below one element");
}

void ShardedAdamW::init_state(const std::vector<ParamRef>& params) {
  const size_t n = params.size();
  // Every rank must shard the same tensors, or the collectives below would pair different slices (or hang). Each
  // rank compares every rank's layout with rank 0's, so all of them raise the same error together.
  std::vector<int64_t> layout;
  for (const auto& p : params) layout.push_back(p.value->numel()), layout.push_back(int64_t(p.value->dtype()));
  const std::vector<int64_t> sizes = allgather_concat(comm_, std::vector<int64_t>{int64_t(layout.size())});
  const std::vector<int64_t> every = allgather_concat(comm_, layout);
  auto layout_of = [&](int r) {
    const auto first = every.begin() + std::accumulate(sizes.begin(), sizes.begin() + r, ptrdiff_t{0});
    return std::vector<int64_t>(first, first + ptrdiff_t(sizes[size_t(r)]));
  };
  for (int r = 1; r < comm_.size(); ++r)
    if (layout_of(r) != layout_of(0))
      throw CollectiveError("ShardedAdamW: rank " + std::to_string(r) +
                            " has other trainable parameters (count, sizes or storage types) than rank 0");

  std::vector<int64_t> numels;
  dtypes_.clear();
  for (const auto& p : params) numels.push_back(p.value->numel()), dtypes_.push_back(p.value->dtype());
  plan_ = ShardPlan(numels, comm_.size());
  owned_.clear();
  for (size_t i = 0; i < n; ++i) owned_.push_back(plan_.slice(i, comm_.rank()));

  // Grouped as AdamW's block: every first moment, every second, every master copy; only this rank's slices.
  m_.assign(n, Tensor()), v_.assign(n, Tensor()), master_.assign(n, Tensor());
  std::vector<TensorSlot> slots;
  auto add = [&](std::vector<Tensor>& to, const char* suffix, size_t i, DType dtype) {
    if (!owned_[i].empty()) slots.push_back({&to[i], params[i].value->name + suffix, {owned_[i].size()}, dtype});
  };
  for (size_t i = 0; i < n; ++i) add(m_, ".exp_avg (shard)", i, state_dtype(dtypes_[i]));
  for (size_t i = 0; i < n; ++i) add(v_, ".exp_avg_sq (shard)", i, state_dtype(dtypes_[i]));
  for (size_t i = 0; i < n; ++i)
    if (dtypes_[i] == DType::kBF16 && config_.master_weights) add(master_, ".master (shard)", i, DType::kF32);
  Allocator* alloc = n ? params[0].value->allocator() : nullptr;
  for (const auto& p : params)
    TANDEM_CHECK(p.value->allocator() == alloc, "ShardedAdamW: parameter ", p.value->name,
                 " is on another device than ", params[0].value->name);
  state_ = place_in_arena("sharded adamw state", slots, alloc);
  for (size_t i = 0; i < n; ++i)
    if (!master_[i].empty()) master_[i].copy_from(slice_view(*params[i].value, owned_[i]));
  has_state_ = true;
}

void ShardedAdamW::check_params(const std::vector<ParamRef>& params) const {
  TANDEM_CHECK(params.size() == plan_.tensors(), "ShardedAdamW: optimizer state holds ", plan_.tensors(),
               " tensors but ", params.size(), " parameters were given");
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = *params[i].value;
    TANDEM_CHECK(p.numel() == plan_.numel(i) && p.dtype() == dtypes_[i], "ShardedAdamW: parameter ", p.name, " has ",
                 p.numel(), " elements of ", dtype_str(p.dtype()), "; its optimizer state was made for ",
                 plan_.numel(i), " of ", dtype_str(dtypes_[i]));
    p.expect_shape(params[i].grad->shape);
  }
}

void ShardedAdamW::step(const std::vector<ParamRef>& params, double lr, double grad_scale) {
  if (!has_state_) init_state(params);
  check_params(params);
  AdamWStep s = adamw_step_constants(config_, ++steps_, lr, grad_scale);  // AdamW::step's, to the bit
  for (size_t i = 0; i < params.size(); ++i) {
    if (owned_[i].empty()) continue;
    Tensor& p = *params[i].value;
    Tensor p_slice = slice_view(p, owned_[i]), g_slice = slice_view(*params[i].grad, owned_[i]);
    s.decay = adamw_decay(config_, params[i].decay, lr);
    Tensor* master = master_[i].empty() ? nullptr : &master_[i];
    backend_of(p).adamw_step(p_slice, g_slice, m_[i], v_[i], master, s);
  }
  allgather_weights(params);
}

void ShardedAdamW::allgather_weights(const std::vector<ParamRef>& params) {
  const size_t n = params.size();
  // Parameters laid out back to back (views of one arena) with one storage type go in one collective per window
  // rather than one per tensor. Whether they are is agreed across ranks, since every rank must make the same calls.
  std::vector<int64_t> follows(n, 0);
  for (size_t i = 1; i < n; ++i) {
    const Tensor &a = *params[i - 1].value, &b = *params[i].value;
    const auto end_of_a = reinterpret_cast<uintptr_t>(a.raw()) + uintptr_t(a.bytes());
    follows[i] = !a.empty() && !b.empty() && a.dtype() == b.dtype() && a.allocator() == b.allocator() &&
                 end_of_a == reinterpret_cast<uintptr_t>(b.raw());
  }
  comm_.allreduce_sum(follows.data(), int64_t(n));
  const int me = comm_.rank();
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && follows[j] == comm_.size()) ++j;
    Tensor& first = *params[i].value;
    const int64_t eb = dtype_bytes(first.dtype());
    const ElementRange run{plan_.offset(i), plan_.offset(j - 1) + plan_.numel(j - 1)};
    char* base = static_cast<char*>(first.raw());
    for_each_window(plan_, run, eb, std::max<int64_t>(1, max_collective_bytes_ / eb),
                    [&](ElementRange w, const std::vector<int64_t>& counts, const std::vector<int64_t>& displs) {
                      char* at = base + (w.begin - run.begin) * eb;
                      comm_.allgatherv(at + displs[size_t(me)], at, counts, displs);  // in place
                    });
    i = j;
  }
}

void ShardedAdamW::gather_tensor(size_t i, DType dtype, const Tensor& mine, Tensor* full, int root) {
  const int64_t eb = dtype_bytes(dtype);
  const ElementRange whole{plan_.offset(i), plan_.offset(i) + plan_.numel(i)};
  const ElementRange flat_mine{whole.begin + owned_[i].begin, whole.begin + owned_[i].end};
  if (full) TANDEM_CHECK(full->bytes() == plan_.numel(i) * eb, "ShardedAdamW: gathering into ", full->name);
  for_each_window(plan_, whole, eb, std::max<int64_t>(1, max_collective_bytes_ / eb),
                  [&](ElementRange w, const std::vector<int64_t>& counts, const std::vector<int64_t>& displs) {
                    const int64_t from = std::clamp(flat_mine.begin, w.begin, w.end);
                    const char* send = counts[size_t(comm_.rank())] == 0
                                           ? nullptr
                                           : static_cast<const char*>(mine.raw()) + (from - flat_mine.begin) * eb;
                    char* recv = full ? static_cast<char*>(full->raw()) + (w.begin - whole.begin) * eb : nullptr;
                    comm_.gatherv(send, recv, counts, displs, root);
                  });
}

AdamW ShardedAdamW::gather_full(const std::vector<ParamRef>& params, int root) {
  AdamW full(config_);
  full.set_steps(steps_);
  if (!has_state_) return full;
  check_params(params);
  const bool receives = comm_.rank() == root;
  if (receives) full.init_state(params);
  for (size_t i = 0; i < params.size(); ++i) gather_tensor(i, state_dtype(dtypes_[i]), m_[i], receives ? &full.exp_avg()[i] : nullptr, root);
  for (size_t i = 0; i < params.size(); ++i)
    gather_tensor(i, state_dtype(dtypes_[i]), v_[i], receives ? &full.exp_avg_sq()[i] : nullptr, root);
  for (size_t i = 0; i < params.size(); ++i)
    if (dtypes_[i] == DType::kBF16 && config_.master_weights)
      gather_tensor(i, DType::kF32, master_[i], receives ? &full.master_weights()[i] : nullptr, root);
  return full;
}

void ShardedAdamW::load_full(const std::vector<ParamRef>& params, AdamW& full) {
  if (full.exp_avg().empty()) {  // an AdamW that never stepped: fresh state, as init_state makes it
    init_state(params);
    steps_ = full.steps();
    return;
  }
  TANDEM_CHECK(full.exp_avg().size() == params.size() && full.exp_avg_sq().size() == params.size() &&
                   full.master_weights().size() == params.size(),
               "ShardedAdamW: the loaded optimizer state holds ", full.exp_avg().size(), " tensors but ",
               params.size(), " parameters were given");
  load_slices(params, full.steps(), [&](size_t i, Part part) {
    std::vector<Tensor>& group = part == Part::kExpAvg     ? full.exp_avg()
                                 : part == Part::kExpAvgSq ? full.exp_avg_sq()
                                                           : full.master_weights();
    Tensor& t = group[i];
    TANDEM_CHECK(!t.empty(), "ShardedAdamW: the loaded optimizer state has no f32 master copy of bf16 parameter ",
                 params[i].value->name);
    return Tensor::view(t.name, t.shape, t.dtype(), t, 0);  // no copy
  });
}

void ShardedAdamW::load_slices(const std::vector<ParamRef>& params, int64_t steps,
                               const std::function<Tensor(size_t, Part)>& whole) {
  init_state(params);
  steps_ = steps;
  for (size_t i = 0; i < params.size(); ++i) {
    if (owned_[i].empty()) continue;
    const Tensor& p = *params[i].value;
    auto take = [&](Part part, Tensor& to) {
      Tensor from = whole(i, part);
      TANDEM_CHECK(from.numel() == p.numel(), "ShardedAdamW: optimizer state ", from.name, " has ", from.numel(),
                   " elements but parameter ", p.name, " has ", p.numel());
      to.copy_from(slice_view(from, owned_[i]));
    };
    take(Part::kExpAvg, m_[i]);
    take(Part::kExpAvgSq, v_[i]);
    if (!master_[i].empty()) take(Part::kMaster, master_[i]);
  }
}

int64_t ShardedAdamW::state_bytes() const {
  int64_t bytes = 0;
  for (const auto* group : {&m_, &v_, &master_})
    for (const Tensor& t : *group) bytes += t.bytes();
  return bytes;
}

int64_t ShardedAdamW::full_state_bytes() const {
  int64_t bytes = 0;
  for (size_t i = 0; i < dtypes_.size(); ++i) {
    bytes += 2 * plan_.numel(i) * dtype_bytes(state_dtype(dtypes_[i]));
    if (dtypes_[i] == DType::kBF16 && config_.master_weights) bytes += plan_.numel(i) * dtype_bytes(DType::kF32);
  }
  return bytes;
}

}  // namespace tandem
