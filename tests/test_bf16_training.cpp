// bf16 training end to end: a 200-step Mix run (SFT and DPO gradients every step) on the toy task in bf16 tracks
// the same run in fp32, and the same bf16 run without f32 master weights (AdamW rounding each update into bf16,
// the classic mistake) does not: the bound below separates the two.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "train/trainer.h"
#include "trainer_fixtures.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::make_task;
using testing::metrics;

// Largest |a - b| of the logged running (EMA) training losses over the last 100 steps: per-step losses of batch 4
// are too noisy to compare, the running ones follow the trajectory.
struct Deviation {
  double sft = 0, dpo = 0;
};

std::vector<nlohmann::json> run(const std::string& base, const std::string& name, std::vector<std::string> extra) {
  const std::string out = fs::temp_directory_path() / ("tandem_bf16_" + name);
  fs::remove_all(out);
  extra.push_back("output_dir=\"" + out + "\"");
  Trainer t(TrainConfig::from_toml_string(base, extra));
  t.train();
  std::vector<nlohmann::json> steps;
  for (auto& j : metrics(out))
    if (!j.contains("eval") && j.contains("f_sft")) steps.push_back(j);
  return steps;
}

Deviation deviation(const std::vector<nlohmann::json>& a, const std::vector<nlohmann::json>& b) {
  EXPECT_EQ(a.size(), b.size());
  Deviation d;
  for (size_t i = a.size() / 2; i < std::min(a.size(), b.size()); ++i) {
    d.sft = std::max(d.sft, std::abs(a[i]["f_sft_running"].get<double>() - b[i]["f_sft_running"].get<double>()));
    d.dpo = std::max(d.dpo, std::abs(a[i]["f_dpo_running"].get<double>() - b[i]["f_dpo_running"].get<double>()));
  }
  return d;
}

TEST(Bf16Training, MixRunTracksFp32AndNeedsMasterWeights) {
  const std::string base = make_task("bf16");
  const std::vector<std::string> mix = {"strategy=\"mix\"", "max_steps=200", "learning_rate=2e-3", "eval_steps=1000",
                                        "logging_steps=1", "lr_scheduler_type=\"cosine\""};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), mix.begin(), mix.end());
    return extra;
  };
  const auto fp32 = run(base, "fp32", with({}));
  const auto bf16 = run(base, "bf16", with({"bf16=true"}));
  const auto no_master = run(base, "no_master", with({"bf16=true", "master_weights=false"}));
  ASSERT_EQ(fp32.size(), 200u);
  // The run learns: the losses fall well below their start, in both precisions.
  EXPECT_LT(fp32.back()["f_sft"].get<double>(), fp32.front()["f_sft"].get<double>() - 1.0);
  const Deviation ok = deviation(fp32, bf16), broken = deviation(fp32, no_master);
  std::printf("bf16 vs fp32, running losses over steps 100-200: |d f_sft| <= %.4f, |d f_dpo| <= %.4f; without "
              "master weights: %.4f, %.4f\n", ok.sft, ok.dpo, broken.sft, broken.dpo);
  // Nats per token (SFT) and per pair (DPO), against losses that fall from 3.9 to 2.1 (SFT) and 0.69 to 0.39 (DPO).
  // Measured here: bf16 0.058 / 0.029; without master weights 0.27 / 0.07 (the SFT loss stalls as small updates
  // round away).
  constexpr double kBound = 0.1;
  EXPECT_LE(ok.sft, kBound);
  EXPECT_LE(ok.dpo, kBound);
  EXPECT_GT(std::max(broken.sft, broken.dpo), kBound) << "the bound does not catch a run without master weights";
}

}  // namespace
}  // namespace tandem
