// ZeRO-1 through a real checkpoint folder (train/checkpoint.h, today's format): a tiny bf16 model's ShardedAdamW
// state is gathered on rank 0 and saved, every rank loads the folder and keeps its slice, and training continues
// bit for bit as if uninterrupted, and as one process running plain AdamW from the start.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/rng.h"
#include "dist/comm.h"
#include "dist/sharded_adamw.h"
#include "model/decoder_model.h"
#include "model/weights.h"
#include "optim/adamw.h"
#include "train/checkpoint.h"

namespace tandem {
namespace {

ModelConfig tiny_config() {
  ModelConfig c;
  c.vocab_size = 51;  // odd sizes, so rank boundaries fall inside rows
  c.hidden_size = 32;
  c.intermediate_size = 72;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  return c;
}

// The same small gradients on every rank (as after the trainer's allreduce), different at each step.
void set_grads(const std::vector<ParamRef>& params, int step) {
  Rng rng(uint64_t(1000 + step));
  for (const auto& p : params) {
    std::vector<float> g(size_t(p.grad->numel()));
    for (float& x : g) x = float(rng.uniform() - 0.5) * 0.02f;
    p.grad->assign(g);
  }
}

// Counts differing bytes of every parameter (no early return: the test keeps making its collectives).
int64_t differing_bytes(const std::vector<ParamRef>& a, const std::vector<ParamRef>& b) {
  int64_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto* x = static_cast<const unsigned char*>(a[i].value->raw());
    const auto* y = static_cast<const unsigned char*>(b[i].value->raw());
    for (int64_t k = 0; k < a[i].value->bytes(); ++k) differ += x[k] != y[k];
  }
  return differ;
}

TEST(ShardedAdamW, ResumesFromACheckpointFolderBitForBit) {
  Comm& w = world();
  AdamWConfig config;
  config.weight_decay = 0.05;
  DecoderModel a(tiny_config(), cpu_backend(), DType::kBF16), whole(tiny_config(), cpu_backend(), DType::kBF16);
  Rng init(5);
  init_random(a.weights(), init, 0.05);
  init = Rng(5);
  init_random(whole.weights(), init, 0.05);
  const auto pa = a.trainable_params(), pw = whole.trainable_params();
  ShardedAdamW zero(config, w);
  AdamW adamw(config);  // the reference: one process, unsharded, never interrupted
  for (int s = 1; s <= 3; ++s) {
    set_grads(pa, s), set_grads(pw, s);
    zero.step(pa, 1e-2, 0.8);
    adamw.step(pw, 1e-2, 0.8);
  }

  // Rank 0 saves; the folder is named by rank 0 so every rank reads the same one.
  const std::string dir = broadcast_string(
      w, (std::filesystem::temp_directory_path() / ("tandem_zero1_" + std::to_string(getpid()))).string());
  AdamW gathered = zero.gather_full(pa);
  if (w.rank() == 0) save_checkpoint(dir, a, gathered, pa, nlohmann::json::object());
  w.barrier();

  // Every rank loads it into a model that started elsewhere, and keeps its slice of the optimizer state.
  DecoderModel b(tiny_config(), cpu_backend(), DType::kBF16);
  const auto pb = b.trainable_params();
  AdamW loaded(config);
  load_checkpoint(dir, b, loaded, pb);
  ShardedAdamW resumed(config, w);
  resumed.load_full(pb, loaded);
  EXPECT_EQ(resumed.steps(), 3);
  EXPECT_EQ(sum_over_ranks(w, resumed.state_bytes()), zero.full_state_bytes()) << "the slices tile the state";
  if (w.size() > 1) {
    EXPECT_LT(resumed.state_bytes(), zero.full_state_bytes());
  }

  for (int s = 4; s <= 6; ++s) {
    set_grads(pa, s), set_grads(pb, s), set_grads(pw, s);
    zero.step(pa, 1e-2, 1.0);
    resumed.step(pb, 1e-2, 1.0);
    adamw.step(pw, 1e-2, 1.0);
  }
  EXPECT_EQ(differing_bytes(pb, pa), 0) << "resumed vs uninterrupted sharded run";
  EXPECT_EQ(differing_bytes(pa, pw), 0) << "sharded vs one process with plain AdamW";
  w.barrier();
  if (w.rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem
