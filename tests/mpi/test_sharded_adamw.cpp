// ZeRO-1 (dist/sharded_adamw.h) on the ranks mpirun started, against optim/adamw.h's AdamW run whole on each rank
// with the same gradients: the update is elementwise and runs the same backend op, so weights, moments and master
// copies must agree bit for bit (tolerance: none). Gradients are the same on every rank (made from a seed), as
// after the trainer's allreduce.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/arena.h"
#include "dist/comm.h"
#include "dist/sharded_adamw.h"
#include "expect_error.h"
#include "optim/adamw.h"

namespace tandem {
namespace {

// A deterministic value in [-1, 1) from a seed and an index (splitmix64).
float noise(uint64_t seed, uint64_t i) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + i + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return float(z >> 40) / float(1 << 23) - 1.0f;
}

// Trainable tensors of awkward sizes: one of a single element (fewer than the ranks), an empty one, and one large
// enough that the rank boundary falls inside it.
const std::vector<Shape> kShapes = {{5, 3}, {1}, {0}, {257, 33}, {2}, {64}};

struct Params {
  Tensor block;  // when the values are views of one arena (as the model's are)
  std::vector<Tensor> values, grads;
  std::vector<ParamRef> refs() {
    std::vector<ParamRef> r;
    for (size_t i = 0; i < values.size(); ++i) r.push_back({&values[i], &grads[i], i % 2 == 0});  // decay on some
    return r;
  }
  // This step's gradients, the same on every rank.
  void set_grads(int step) {
    for (size_t i = 0; i < grads.size(); ++i) {
      std::vector<float> g(size_t(grads[i].numel()));
      for (size_t k = 0; k < g.size(); ++k) g[k] = noise(uint64_t(100 * step + int(i)), k) * 0.01f;
      grads[i].assign(g);
    }
  }
};

Params make_params(DType dtype, bool one_arena) {
  Params p;
  p.values.resize(kShapes.size());
  p.grads.resize(kShapes.size());
  std::vector<TensorSlot> slots;
  for (size_t i = 0; i < kShapes.size(); ++i) {
    const std::string name = "layer" + std::to_string(i) + ".weight";
    if (one_arena) slots.push_back({&p.values[i], name, kShapes[i], dtype});
    else p.values[i] = Tensor(name, kShapes[i], dtype);
    p.grads[i] = Tensor(name + ".grad", kShapes[i]);
  }
  if (one_arena) p.block = place_in_arena("params", slots, nullptr);
  for (size_t i = 0; i < kShapes.size(); ++i) {
    std::vector<float> v(size_t(p.values[i].numel()));
    for (size_t k = 0; k < v.size(); ++k) v[k] = noise(7 + i, k) * 0.5f;
    p.values[i].assign(v);
  }
  return p;
}

// An owned copy of every value (and fresh gradients): the whole-AdamW reference's parameters.
Params copy_of(const Params& p) {
  Params c;
  c.values = p.values;
  c.grads = p.grads;
  return c;
}

// Counts differing bytes (not asserted element by element: a test must keep making its collectives).
void expect_same_bytes(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.bytes(), want.bytes()) << what;
  const auto* a = static_cast<const unsigned char*>(got.raw());
  const auto* b = static_cast<const unsigned char*>(want.raw());
  int64_t first = -1, differ = 0;
  for (int64_t k = 0; k < got.bytes(); ++k)
    if (a[k] != b[k]) differ++, first = first < 0 ? k : first;
  EXPECT_EQ(differ, 0) << what << " (" << got.name << "): " << differ << " bytes differ, the first at byte " << first;
}

void expect_same_values(Params& got, Params& want, const std::string& when) {
  for (size_t i = 0; i < got.values.size(); ++i) expect_same_bytes(got.values[i], want.values[i], when);
}

// The state a whole AdamW holds, bit for bit (moments and master copies).
void expect_same_state(AdamW& got, AdamW& want, const std::string& when) {
  ASSERT_EQ(got.exp_avg().size(), want.exp_avg().size()) << when;
  EXPECT_EQ(got.steps(), want.steps()) << when;
  for (size_t i = 0; i < want.exp_avg().size(); ++i) {
    expect_same_bytes(got.exp_avg()[i], want.exp_avg()[i], when + ": exp_avg");
    expect_same_bytes(got.exp_avg_sq()[i], want.exp_avg_sq()[i], when + ": exp_avg_sq");
    expect_same_bytes(got.master_weights()[i], want.master_weights()[i], when + ": master");
  }
}

// Learning rate and clipping factor of step s: the schedule moves and clipping bites on some steps.
double lr_of(int s) { return 1e-2 * (1.0 + 0.25 * s); }
double scale_of(int s) { return s % 2 ? 0.37 : 1.0; }

AdamWConfig config_with(bool master_weights) {
  AdamWConfig c;
  c.weight_decay = 0.1;
  c.master_weights = master_weights;
  return c;
}

// k steps of sharded and whole AdamW side by side; the weights compared after every step.
void run_side_by_side(DType dtype, bool one_arena, bool master_weights, int64_t max_collective_bytes) {
  Params sharded = make_params(dtype, one_arena), whole = copy_of(sharded);
  ShardedAdamW zero(config_with(master_weights), world(), max_collective_bytes);
  AdamW adamw(config_with(master_weights));
  for (int s = 1; s <= 4; ++s) {
    sharded.set_grads(s), whole.set_grads(s);
    zero.step(sharded.refs(), lr_of(s), scale_of(s));
    adamw.step(whole.refs(), lr_of(s), scale_of(s));
    expect_same_values(sharded, whole, "after step " + std::to_string(s));
  }
  AdamW gathered = zero.gather_full(sharded.refs());
  if (world().rank() == 0) expect_same_state(gathered, adamw, "gathered state after 4 steps");
  else EXPECT_TRUE(gathered.exp_avg().empty()) << "only the root receives the state";
  EXPECT_EQ(gathered.steps(), 4);
}

TEST(ShardedAdamW, F32EqualsAdamWBitForBit) { run_side_by_side(DType::kF32, false, true, int64_t{1} << 30); }

TEST(ShardedAdamW, Bf16WithMasterWeightsEqualsAdamWBitForBit) {
  // Views of one arena: the allgather goes over the whole block, in windows of 64 bytes.
  run_side_by_side(DType::kBF16, true, true, 64);
}

TEST(ShardedAdamW, Bf16WithoutMasterWeightsEqualsAdamWBitForBit) {
  run_side_by_side(DType::kBF16, false, false, int64_t{1} << 30);
}

TEST(ShardedAdamW, F32InOneArenaEqualsAdamWBitForBit) { run_side_by_side(DType::kF32, true, true, 24); }

TEST(ShardedAdamW, WorldOfOneIsAdamW) {
  Params sharded = make_params(DType::kBF16, true), whole = copy_of(sharded);
  auto single = make_single_comm();
  ShardedAdamW zero(config_with(true), *single);
  AdamW adamw(config_with(true));
  for (int s = 1; s <= 3; ++s) {
    sharded.set_grads(s), whole.set_grads(s);
    zero.step(sharded.refs(), lr_of(s), scale_of(s));
    adamw.step(whole.refs(), lr_of(s), scale_of(s));
  }
  expect_same_values(sharded, whole, "one rank");
  EXPECT_EQ(zero.state_bytes(), zero.full_state_bytes());
}

// Each rank holds about 1/N of the state; together exactly the whole of it, which is what AdamW allocates.
TEST(ShardedAdamW, StateBytesPerRankAreAboutOneNth) {
  Comm& w = world();
  for (const auto& [dtype, bytes_per_element] : {std::pair{DType::kF32, 8}, std::pair{DType::kBF16, 12}}) {
    Params sharded = make_params(dtype, false), whole = copy_of(sharded);
    ShardedAdamW zero(config_with(true), w);
    zero.init_state(sharded.refs());
    AdamW adamw(config_with(true));
    adamw.init_state(whole.refs());
    int64_t adamw_bytes = 0, elements = 0;
    for (size_t i = 0; i < kShapes.size(); ++i) {
      adamw_bytes += adamw.exp_avg()[i].bytes() + adamw.exp_avg_sq()[i].bytes() + adamw.master_weights()[i].bytes();
      elements += whole.values[i].numel();
    }
    EXPECT_EQ(adamw_bytes, elements * bytes_per_element) << dtype_str(dtype);
    EXPECT_EQ(zero.full_state_bytes(), adamw_bytes) << dtype_str(dtype);
    EXPECT_EQ(sum_over_ranks(w, zero.state_bytes()), adamw_bytes) << dtype_str(dtype);
    const double share = double(adamw_bytes) / w.size();
    EXPECT_LE(std::abs(double(zero.state_bytes()) - share), bytes_per_element) << dtype_str(dtype) << ": rank "
                                                                                << w.rank() << " holds "
                                                                                << zero.state_bytes() << " bytes";
  }
}

// Every rank loads the same checkpoint: rank 0's gathered state, sent to all (what reading one file does).
void broadcast_state(AdamW& full, const std::vector<ParamRef>& params) {
  Comm& w = world();
  if (w.rank() != 0) full.init_state(params);
  for (auto* group : {&full.exp_avg(), &full.exp_avg_sq(), &full.master_weights()})
    for (Tensor& t : *group) w.broadcast(t.raw(), t.bytes(), 0);
}

TEST(ShardedAdamW, GatherThenLoadContinuesBitForBit) {
  Params a = make_params(DType::kBF16, true);
  ShardedAdamW zero(config_with(true), world());
  for (int s = 1; s <= 3; ++s) a.set_grads(s), zero.step(a.refs(), lr_of(s), scale_of(s));
  // A checkpoint: rank 0 gathers the whole state, every rank reads it back into a new optimizer.
  Params b = copy_of(a);
  AdamW full = zero.gather_full(a.refs());
  broadcast_state(full, b.refs());
  ShardedAdamW resumed(config_with(true), world());
  resumed.load_full(b.refs(), full);
  EXPECT_EQ(resumed.steps(), 3);
  for (int s = 4; s <= 6; ++s) {
    a.set_grads(s), b.set_grads(s);
    zero.step(a.refs(), lr_of(s), scale_of(s));
    resumed.step(b.refs(), lr_of(s), scale_of(s));
  }
  expect_same_values(b, a, "resumed vs uninterrupted, 3 steps after the checkpoint");
}

TEST(ShardedAdamW, LoadsTheStateOfAPlainAdamW) {
  // A checkpoint written by an unsharded run (or by any world size) resumes sharded.
  Params whole = make_params(DType::kBF16, false);
  AdamW adamw(config_with(true));
  for (int s = 1; s <= 3; ++s) whole.set_grads(s), adamw.step(whole.refs(), lr_of(s), scale_of(s));
  Params sharded = copy_of(whole);
  ShardedAdamW zero(config_with(true), world());
  zero.load_full(sharded.refs(), adamw);
  for (int s = 4; s <= 6; ++s) {
    whole.set_grads(s), sharded.set_grads(s);
    adamw.step(whole.refs(), lr_of(s), scale_of(s));
    zero.step(sharded.refs(), lr_of(s), scale_of(s));
  }
  expect_same_values(sharded, whole, "sharded resume of a plain AdamW state");
  AdamW back = zero.gather_full(sharded.refs());
  if (world().rank() == 0) expect_same_state(back, adamw, "state after the sharded resume");
}

// What a resume does (train/checkpoint.h): each state tensor read whole, one at a time, and only by the ranks that
// own part of it; the result continues exactly as loading a whole AdamW does.
TEST(ShardedAdamW, LoadSlicesReadsOnlyOwnedTensorsAndContinuesBitForBit) {
  Params whole = make_params(DType::kBF16, false);
  AdamW adamw(config_with(true));
  for (int s = 1; s <= 3; ++s) whole.set_grads(s), adamw.step(whole.refs(), lr_of(s), scale_of(s));
  Params sharded = copy_of(whole);
  ShardedAdamW zero(config_with(true), world());
  std::vector<int> reads(kShapes.size(), 0);
  using Part = ShardedAdamW::Part;
  zero.load_slices(sharded.refs(), adamw.steps(), [&](size_t i, Part part) {
    ++reads[i];
    const Tensor& t = part == Part::kExpAvg     ? adamw.exp_avg()[i]
                      : part == Part::kExpAvgSq ? adamw.exp_avg_sq()[i]
                                                : adamw.master_weights()[i];
    return Tensor(t);  // a copy, as a file read gives
  });
  for (size_t i = 0; i < kShapes.size(); ++i)  // three parts (moments and master) where owned, none elsewhere
    EXPECT_EQ(reads[i], zero.owned(i).empty() ? 0 : 3) << "tensor " << i << " on rank " << world().rank();
  for (int s = 4; s <= 6; ++s) {
    whole.set_grads(s), sharded.set_grads(s);
    adamw.step(whole.refs(), lr_of(s), scale_of(s));
    zero.step(sharded.refs(), lr_of(s), scale_of(s));
  }
  expect_same_values(sharded, whole, "resumed from slices vs whole AdamW");
}

TEST(ShardedAdamW, ReshardsToAnotherWorldSize) {
  // N ranks save; one process (world 1) resumes, on rank 0 while the N ranks carry on.
  Params a = make_params(DType::kF32, false);
  ShardedAdamW zero(config_with(true), world());
  for (int s = 1; s <= 2; ++s) a.set_grads(s), zero.step(a.refs(), lr_of(s), scale_of(s));
  AdamW full = zero.gather_full(a.refs());
  Params b = copy_of(a);
  auto single = make_single_comm();
  ShardedAdamW alone(config_with(true), *single);
  if (world().rank() == 0) alone.load_full(b.refs(), full);
  for (int s = 3; s <= 5; ++s) {
    a.set_grads(s), zero.step(a.refs(), lr_of(s), scale_of(s));
    if (world().rank() == 0) b.set_grads(s), alone.step(b.refs(), lr_of(s), scale_of(s));
  }
  if (world().rank() == 0) expect_same_values(b, a, "one process resuming N ranks' checkpoint");
}

TEST(ShardedAdamW, NotYetSteppedStateRoundTrips) {
  Params a = make_params(DType::kF32, false);
  ShardedAdamW zero(config_with(true), world());
  AdamW full = zero.gather_full(a.refs());  // nothing to gather: no collective, no tensors
  EXPECT_TRUE(full.exp_avg().empty());
  EXPECT_EQ(full.steps(), 0);
  zero.load_full(a.refs(), full);
  EXPECT_TRUE(zero.has_state());
  EXPECT_EQ(zero.steps(), 0);
}

TEST(ShardedAdamW, RanksWithOtherParametersStopTogether) {
  Comm& w = world();
  if (w.size() < 2) GTEST_SKIP() << "needs two ranks";
  Params a = make_params(DType::kF32, false);
  if (w.rank() == 1) a.values[3] = Tensor("layer3.weight", {257, 32});
  ShardedAdamW zero(config_with(true), w);
  try {
    zero.init_state(a.refs());
    ADD_FAILURE() << "no error on rank " << w.rank();
  } catch (const CollectiveError& e) {  // on every rank, from the values they share
    EXPECT_NE(std::string(e.what()).find("rank 1 has other trainable parameters"), std::string::npos) << e.what();
  }
}

TEST(ShardedAdamW, NamesAParameterThatChanged) {
  Params a = make_params(DType::kF32, false);
  ShardedAdamW zero(config_with(true), world());
  zero.init_state(a.refs());
  a.values[5] = Tensor("layer5.weight", {65}), a.grads[5] = Tensor("layer5.weight.grad", {65});
  testing::expect_error([&] { zero.step(a.refs(), 1e-3); }, {"layer5.weight", "65 elements", "made for 64"});
  auto fewer = a.refs();
  fewer.pop_back();
  testing::expect_error([&] { zero.step(fewer, 1e-3); }, {"holds 6 tensors but 5 parameters"});
}

}  // namespace
}  // namespace tandem
