// Data-parallel training through the real binary under `mpirun -np 2`: two ranks with per-device batch b train as one
// process with batch 2b (losses, metrics, decisions and final weights), for Mix, ALRIGHT and MAXRIGHT; a killed rank
// or a NaN on one rank stops every rank with one message and leaves the last checkpoint intact; the run resumes from
// it, also on another number of ranks; mismatched configs are caught at start-up. The sharding itself is tested
// in-process.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "cli_run.h"
#include "core/rng.h"
#include "data/stream.h"
#include "dist/grad_reducer.h"
#include "dist/shards.h"
#include "model/decoder_model.h"
#include "io/safetensors.h"
#include "trainer_fixtures.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::metrics;
using testing::slurp;

// Summation order differs between one process and two ranks (a batch's tokens are summed per rank, then across),
// so values agree to fp32 rounding, not bit for bit. Measured here: losses and logged metrics within 5e-8 relative,
// weights after 12 AdamW steps within 1.2e-7 (one fp32 ulp at 1). The bounds keep a 10x margin over that.
constexpr double kLossRel = 5e-7;
constexpr double kWeightAbs = 1e-6;

bool have_mpi() {
#ifdef TANDEM_HAVE_MPI
  return std::system("command -v mpirun > /dev/null 2>&1") == 0;
#else
  return false;
#endif
}

#define SKIP_WITHOUT_MPI() \
  if (!have_mpi()) GTEST_SKIP() << "built without MPI or no mpirun on the PATH (apt-get install libopenmpi-dev openmpi-bin)"

// mpirun as CI runs it: root allowed (containers), more ranks than cores allowed, one OpenMP thread per rank.
CliResult mpirun(const fs::path& cwd, const std::string& launch, const std::string& env = "") {
  const fs::path io = cwd / "mpirun.io";
  fs::create_directories(io);
  const std::string cmd = "cd '" + cwd.string() + "' && " + env +
                          " OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                          "OMPI_MCA_rmaps_base_oversubscribe=1 mpirun " + launch + " < /dev/null > '" +
                          (io / "out").string() + "' 2> '" + (io / "err").string() + "'";
  const int raw = std::system(cmd.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(io / "out"), slurp(io / "err")};
}

// The toy task in its own folder, with a config file; runs differ by key=value overrides.
struct Task {
  fs::path dir;
  explicit Task(const std::string& name) {
    const std::string text = testing::make_task("dp_" + name);
    dir = fs::temp_directory_path() / ("tandem_trainer_dp_" + name);
    std::ofstream(dir / "train.toml") << text << "eval_steps = 4\n";
  }
  // `tandem train` with `ranks` ranks (1 without mpirun) and a per-device batch.
  CliResult train(int ranks, int64_t batch, const std::string& run, const std::string& extra = "",
                  const std::string& env = "") const {
    const std::string args = "train train.toml per_device_train_batch_size=" + std::to_string(batch) +
                             " output_dir=" + run + " reference_cache_dir=" + run + "-cache " + extra;
    if (ranks == 1) return mpirun(dir, "-np 1 " + std::string(TANDEM_BINARY) + " " + args, env);
    return mpirun(dir, "-np " + std::to_string(ranks) + " " + TANDEM_BINARY + " " + args, env);
  }
  std::string path(const std::string& rel) const { return (dir / rel).string(); }
};

void expect_close(double a, double b, double rel, const std::string& what) {
  EXPECT_NEAR(a, b, rel * std::max(1.0, std::fabs(b))) << what;
}

// Every logged step and evaluation of two runs: the same objectives, the same step and token counts, values
// within kLossRel.
void expect_same_log(const std::string& run_a, const std::string& run_b) {
  std::vector<nlohmann::json> a = metrics(run_a), b = metrics(run_b);
  ASSERT_EQ(a.size(), b.size()) << run_a << " vs " << run_b;
  ASSERT_GT(a.size(), 10u);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string where = run_a + " line " + std::to_string(i + 1);
    for (const char* exact : {"step", "objective", "tokens", "eval", "epoch_sft", "epoch_dpo"})
      EXPECT_EQ(a[i].value(exact, nlohmann::json()), b[i].value(exact, nlohmann::json())) << where << ": " << exact;
    for (const char* close : {"f_sft", "f_dpo", "grad_norm", "reward_accuracy", "reward_margin", "chosen_logp",
                              "rejected_logp", "lr", "gap_sft", "gap_dpo"}) {
      const auto va = a[i].value(close, nlohmann::json()), vb = b[i].value(close, nlohmann::json());
      ASSERT_EQ(va.is_number(), vb.is_number()) << where << ": " << close;
      if (va.is_number()) expect_close(va.get<double>(), vb.get<double>(), kLossRel, where + ": " + close);
    }
  }
}

// The largest absolute difference between two checkpoints' weights (same tensor names).
double max_weight_difference(const std::string& ckpt_a, const std::string& ckpt_b) {
  const SafetensorsFile a(ckpt_a + "/model.safetensors"), b(ckpt_b + "/model.safetensors");
  EXPECT_EQ(a.names(), b.names());
  double worst = 0;
  for (const std::string& name : a.names()) {
    const std::vector<float> va = a.load(name).to_floats(), vb = b.load(name).to_floats();
    for (size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::fabs(double(va[i]) - double(vb[i])));
  }
  return worst;
}

class TwoRanksEqualOne : public ::testing::TestWithParam<std::string> {};

TEST_P(TwoRanksEqualOne, LossesMetricsDecisionsAndWeights) {
  SKIP_WITHOUT_MPI();
  const std::string strategy = GetParam();
  const Task task("equal_" + strategy);
  const std::string extra = "strategy=" + strategy + " maxright_k=3";
  const CliResult one = task.train(1, 8, "one", extra);
  ASSERT_EQ(one.status, 0) << one.err;
  const CliResult two = task.train(2, 4, "two", extra);
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_NE(two.err.find("batch 4 x accumulation 1 x 2 ranks = 8 examples per step"), std::string::npos) << two.err;
  expect_same_log(task.path("one"), task.path("two"));
  // The final evaluation is printed once, by rank 0.
  EXPECT_EQ(std::count(two.out.begin(), two.out.end(), '\n'), 1) << two.out;
  const double worst = max_weight_difference(task.path("one/checkpoint-12"), task.path("two/checkpoint-12"));
  EXPECT_LE(worst, kWeightAbs) << strategy;
  std::printf("%s: largest weight difference, 2 ranks x 4 vs 1 x 8: %.3g\n", strategy.c_str(), worst);
  // Step lines of the two-rank run carry the reduction's size and time.
  const std::vector<nlohmann::json> log = metrics(task.path("two"));
  const auto step = std::find_if(log.begin(), log.end(), [](const auto& j) { return j.contains("allreduce_bytes"); });
  ASSERT_NE(step, log.end());
  EXPECT_EQ((*step)["world_size"], 2);
  EXPECT_GT((*step)["allreduce_bytes"].get<int64_t>(), 0);
}

INSTANTIATE_TEST_SUITE_P(Strategies, TwoRanksEqualOne, ::testing::Values("mix", "alright", "maxright"));

// Gradient accumulation on two ranks: 2 ranks x batch 2 x 2 micro-batches = 1 rank x batch 4 x 2 micro-batches.
// Small buckets (20 KB of the model's 80 KB of gradients) are summed while the backward still runs.
TEST(DataParallel, AccumulationAndOverlappedBucketsOnTwoRanksEqualOneRank) {
  SKIP_WITHOUT_MPI();
  const Task task("accumulation");
  const std::string extra = "strategy=mix gradient_accumulation_steps=2 ddp_bucket_cap_mb=0.02";
  ASSERT_EQ(task.train(1, 4, "one", extra).status, 0);
  const CliResult two = task.train(2, 2, "two", extra);
  ASSERT_EQ(two.status, 0) << two.err;
  expect_same_log(task.path("one"), task.path("two"));
  EXPECT_LE(max_weight_difference(task.path("one/checkpoint-12"), task.path("two/checkpoint-12")), kWeightAbs);
  const nlohmann::json last = metrics(task.path("two")).back().contains("allreduce_bytes")
                                  ? metrics(task.path("two")).back()
                                  : metrics(task.path("two")).end()[-2];
  EXPECT_GE(last["allreduce_buckets"].get<int64_t>(), 4);
  EXPECT_GE(last["allreduce_buckets_overlapped"].get<int64_t>(), 2) << last.dump();
}

// A rank that dies stops the run; the checkpoint before it is complete, and resuming from it (on two ranks, and on
// one rank with the same global batch) ends where the uninterrupted run ends.
TEST(DataParallel, ResumeAfterOneRankIsKilled) {
  SKIP_WITHOUT_MPI();
  const Task task("kill");
  const std::string extra = "strategy=alright save_steps=4";
  ASSERT_EQ(task.train(2, 4, "whole", extra).status, 0);
  const CliResult killed = task.train(2, 4, "cut", extra, "TANDEM_FAULT_KILL_AT=1:7");
  ASSERT_NE(killed.status, 0);
  EXPECT_NE(killed.err.find("rank 1 killed at the start of step 7"), std::string::npos) << killed.err;
  EXPECT_TRUE(fs::exists(task.path("cut/checkpoint-4/trainer_state.json")));
  EXPECT_FALSE(fs::exists(task.path("cut/checkpoint-8")));
  for (const auto& e : fs::directory_iterator(task.path("cut")))  // no half-written checkpoint is left in view
    EXPECT_TRUE(e.path().filename().string().rfind("checkpoint-", 0) != 0 ||
                e.path().filename() == "checkpoint-4")
        << e.path();
  fs::copy(task.path("cut"), task.path("cut-one"), fs::copy_options::recursive);

  const CliResult resumed = task.train(2, 4, "cut", extra + " resume_from_checkpoint=latest");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  expect_same_log(task.path("whole"), task.path("cut"));
  EXPECT_EQ(max_weight_difference(task.path("whole/checkpoint-12"), task.path("cut/checkpoint-12")), 0.0)
      << "the same ranks resume bit for bit";

  // One rank, batch 8: the same global batch, so the same examples from the saved stream positions.
  const CliResult on_one = task.train(1, 8, "cut-one", extra + " resume_from_checkpoint=latest");
  ASSERT_EQ(on_one.status, 0) << on_one.err;
  EXPECT_NE(on_one.err.find("resuming a run saved by 2 rank(s) on 1"), std::string::npos) << on_one.err;
  expect_same_log(task.path("whole"), task.path("cut-one"));
  EXPECT_LE(max_weight_difference(task.path("whole/checkpoint-12"), task.path("cut-one/checkpoint-12")), kWeightAbs);
}

// ZeRO-1: the sharded optimizer makes the same updates as the whole one (bit for bit, fp32 and bf16 with master
// weights), each rank holds about half of AdamW's state, and a run killed mid-way resumes bit for bit from the
// checkpoint, which holds the whole state, on 2 ranks, and within rounding on 1 rank without sharding.
TEST(DataParallel, ZeroStageOneUpdatesAsTheWholeOptimizerAndResumes) {
  SKIP_WITHOUT_MPI();
  const Task task("zero");
  for (const std::string precision : {"bf16=false", "bf16=true"}) {
    const std::string extra = "strategy=mix save_steps=4 " + precision;
    const std::string tag = precision == "bf16=true" ? "-bf16" : "";
    ASSERT_EQ(task.train(2, 4, "plain" + tag, extra).status, 0);
    const CliResult zero = task.train(2, 4, "zero" + tag, extra + " zero_stage=1");
    ASSERT_EQ(zero.status, 0) << zero.err;
    EXPECT_NE(zero.err.find("zero_stage 1: AdamW state"), std::string::npos) << zero.err;
    EXPECT_EQ(max_weight_difference(task.path("plain" + tag + "/checkpoint-12"),
                                    task.path("zero" + tag + "/checkpoint-12")), 0.0) << precision;
    EXPECT_EQ(slurp(task.path("plain" + tag + "/checkpoint-12/optimizer.safetensors")),
              slurp(task.path("zero" + tag + "/checkpoint-12/optimizer.safetensors")))
        << precision << ": the checkpoint holds the whole state, as without sharding";
    const nlohmann::json dp = nlohmann::json::parse(slurp(task.path("zero" + tag + "/summary.json")))["data_parallel"];
    const double share = dp["optimizer_state_bytes_per_rank"].get<double>() /
                         dp["optimizer_state_bytes_unsharded"].get<double>();
    EXPECT_NEAR(share, 0.5, 0.01) << dp.dump();
  }
  // And so, as plain data parallelism, ZeRO-1 on 2 ranks x 4 trains as 1 rank x 8 (fp32; in bf16 the ranks round
  // differently summed values to bf16, so only the bit-equality above is exact there).
  ASSERT_EQ(task.train(1, 8, "one", "strategy=mix save_steps=4 bf16=false").status, 0);
  expect_same_log(task.path("one"), task.path("zero"));
  EXPECT_LE(max_weight_difference(task.path("one/checkpoint-12"), task.path("zero/checkpoint-12")), kWeightAbs);
  const std::string extra = "strategy=mix save_steps=4 bf16=false zero_stage=1";
  ASSERT_NE(task.train(2, 4, "cut", extra, "TANDEM_FAULT_KILL_AT=0:7").status, 0);
  fs::copy(task.path("cut"), task.path("cut-one"), fs::copy_options::recursive);
  ASSERT_EQ(task.train(2, 4, "cut", extra + " resume_from_checkpoint=latest").status, 0);
  EXPECT_EQ(max_weight_difference(task.path("zero/checkpoint-12"), task.path("cut/checkpoint-12")), 0.0);
  const CliResult one = task.train(1, 8, "cut-one", "strategy=mix save_steps=4 resume_from_checkpoint=latest");
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_LE(max_weight_difference(task.path("zero/checkpoint-12"), task.path("cut-one/checkpoint-12")), kWeightAbs);
}

// A NaN on one rank: every rank stops, the message (printed once) names the step and the rank, and the state
// before the step is saved.
TEST(DataParallel, NanOnOneRankStopsEveryRankWithOneMessage) {
  SKIP_WITHOUT_MPI();
  const Task task("nan");
  const CliResult r = task.train(2, 4, "run", "strategy=sft", "TANDEM_FAULT_NAN_AT=1:3");
  ASSERT_NE(r.status, 0);
  const std::string message = "step 3: the SFT loss is nan (non-finite on rank 1); training stopped";
  ASSERT_NE(r.err.find(message), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(message), r.err.rfind(message)) << "printed more than once:\n" << r.err;
  EXPECT_NE(r.err.find("The last good state (step 2) is saved in"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(task.path("run/checkpoint-2/trainer_state.json")));
}

TEST(DataParallel, MismatchedConfigsAreCaughtAtStart) {
  SKIP_WITHOUT_MPI();
  const Task task("mismatch");
  const std::string base = std::string(TANDEM_BINARY) + " train train.toml output_dir=run reference_cache_dir=cache ";
  const CliResult r = mpirun(task.dir, "-np 1 " + base + "learning_rate=0.001 : -np 1 " + base + "learning_rate=0.002");
  ASSERT_NE(r.status, 0);
  const std::string message = "the ranks disagree on the run";
  ASSERT_NE(r.err.find(message), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(message), r.err.rfind(message)) << r.err;
  EXPECT_NE(r.err.find("rank 1: learning_rate = 0.002 (rank 0: 0.001)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(task.path("run/checkpoint-12")));
}

// Data files that differ between ranks (another version on one machine) are caught by their token hashes: both
// ranks name sft.jsonl, but each reads it in its own working folder.
TEST(DataParallel, DifferentDataOnARankIsCaughtAtStart) {
  SKIP_WITHOUT_MPI();
  const Task task("data");
  for (const char* rank : {"r0", "r1"}) {
    fs::create_directories(task.path(rank));
    fs::copy_file(task.path("sft.jsonl"), task.path(std::string(rank) + "/sft.jsonl"));
  }
  std::ofstream(task.path("r1/sft.jsonl"), std::ios::app) << "{\"prompt_ids\": [1, 4, 5, 2], \"completion_ids\": [5, 3]}\n";
  const std::string rank_run = std::string(TANDEM_BINARY) + " train ../train.toml sft_dataset=sft.jsonl "
                               "output_dir=run reference_cache_dir=cache";
  const CliResult r = mpirun(task.dir, "-np 1 -wdir r0 " + rank_run + " : -np 1 -wdir r1 " + rank_run);
  ASSERT_NE(r.status, 0);
  EXPECT_NE(r.err.find("the ranks disagree on the run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rank 1: data: sft_dataset = \"65 examples"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("rank 1: sft_dataset"), std::string::npos) << "the config itself is the same:\n" << r.err;
}

// In-process: the slices of every global batch, over several epochs, give each example to exactly one rank once per
// epoch, for world sizes that do and do not divide the dataset.
TEST(DataParallel, ShardsCoverEveryExampleOncePerEpoch) {
  for (const int world : {1, 2, 3, 4})
    for (const int64_t n : {10, 12, 7}) {
      const int64_t per_device = 2;
      DataStream stream(n, per_device * world, 99);
      std::vector<int64_t> drawn;  // in global order: rank 0's slice, then rank 1's, ...
      while (int64_t(drawn.size()) < 5 * n) {
        const std::vector<int64_t> global = stream.next();
        for (int r = 0; r < world; ++r) {
          const std::vector<int64_t> mine = rank_slice(global, r, world);
          ASSERT_EQ(int64_t(mine.size()), per_device);
          drawn.insert(drawn.end(), mine.begin(), mine.end());
        }
      }
      for (int64_t e = 0; e < 5; ++e) {
        std::vector<int64_t> epoch(drawn.begin() + e * n, drawn.begin() + (e + 1) * n);
        std::sort(epoch.begin(), epoch.end());
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(epoch[size_t(i)], i) << "world " << world << " n " << n;
      }
    }
  // Evaluation ranges: contiguous, covering, sizes differ by at most one.
  for (const int world : {1, 2, 3, 5})
    for (const int64_t n : {0, 1, 4, 17}) {
      int64_t next = 0, smallest = n, largest = 0;
      for (int r = 0; r < world; ++r) {
        const auto [begin, end] = even_range(n, r, world);
        EXPECT_EQ(begin, next);
        next = end;
        smallest = std::min(smallest, end - begin), largest = std::max(largest, end - begin);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1);
    }
}

// The gradient buckets of real models (tied and untied heads, LoRA): every gradient byte is in exactly one bucket,
// buckets start in the order the backward pass completes them and never before all their gradients are final, and
// each stays within the cap (a larger tensor spans several).
TEST(DataParallel, GradientBucketsCoverEveryGradientOnceInBackwardOrder) {
  EXPECT_EQ(backward_order("model.layers.3.mlp.up_proj.weight", false, 4), 1);
  EXPECT_EQ(backward_order("gpt_neox.layers.0.attention.dense.weight", false, 4), 4);
  EXPECT_EQ(backward_order("base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight", false, 4), 2);
  EXPECT_EQ(backward_order("lm_head.weight", true, 4), 0);
  EXPECT_EQ(backward_order("model.embed_tokens.weight", false, 4), 5);
  EXPECT_EQ(backward_order("model.norm.weight", false, 4), 5);
  const fs::path dir = fs::temp_directory_path() / "tandem_grad_buckets";
  fs::create_directories(dir);
  for (const bool tied : {true, false})
    for (const bool lora : {false, true})
      for (const int64_t cap : {int64_t(1) << 30, int64_t(6000), int64_t(100)}) {
        std::ofstream(dir / "config.json")
            << R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32,
                  "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
                  "num_hidden_layers": 3, "vocab_size": 40, "max_position_embeddings": 32,
                  "tie_word_embeddings": )" << (tied ? "true" : "false") << "}";
        DecoderModel model(ModelConfig::from_file((dir / "config.json").string()));
        Rng rng(3);
        if (lora) model.enable_lora({}, rng);
        const std::vector<ParamRef> params = model.trainable_params();
        const Tensor* head = model.weights().lm_head.empty() ? nullptr : &model.weights().lm_head;
        const std::vector<GradSlot> slots = gradient_slots(params, head, 3);
        auto single = make_single_comm();
        const GradReducer reducer(*single, slots, cap);
        const std::vector<GradReducer::Range> ranges = reducer.ranges();
        const std::string where = std::string(tied ? "tied" : "untied") + (lora ? " lora" : "") + " cap " +
                                  std::to_string(cap);
        for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].ready, ranges[i].ready) << where;
        for (size_t i = 0; i < ranges.size(); ++i) {
          EXPECT_LE(ranges[i].end - ranges[i].begin, cap) << where;
          for (size_t j = i + 1; j < ranges.size(); ++j)
            EXPECT_TRUE(ranges[i].end <= ranges[j].begin || ranges[j].end <= ranges[i].begin) << where;
        }
        for (const GradSlot& s : slots) {  // its bytes covered once (ranges are disjoint), none summed too early
          const char* begin = static_cast<const char*>(s.grad->raw());
          const char* end = begin + s.grad->bytes();
          int64_t covered = 0;
          for (const auto& r : ranges) {
            const int64_t overlap = std::min(end, r.end) - std::max(begin, r.begin);
            if (overlap <= 0) continue;
            covered += overlap;
            EXPECT_GE(r.ready, s.order) << where << ": " << s.grad->name << " is summed before it is final";
          }
          EXPECT_EQ(covered, s.grad->bytes()) << where << ": " << s.grad->name;
        }
        if (cap == 100) {
          EXPECT_GT(ranges.size(), slots.size()) << where;  // every tensor cut
        }
        if (cap == int64_t(1) << 30) {
          EXPECT_LE(ranges.size(), 2u) << where;  // one block (two when a gap splits it)
        }
      }
}

}  // namespace
}  // namespace tandem
