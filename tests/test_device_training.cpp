// Training on a device other than the CPU. Without a GPU, an emulated device (tests/emulated_device.h: memory the
// host may not read, CPU kernels behind it) proves that the trainer, the optimizer, checkpoints, resume, evaluation
// and generation reach device memory only through the backend, and that a run there equals the CPU run bit for bit.
// The config's `device` key and its errors are tested through the real binary. The CUDA backend's own tests are in
// test_cuda_backend.cpp (skipped, saying why, without a GPU).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backends/devices.h"
#include "cli_run.h"
#include "core/rng.h"
#include "emulated_device.h"
#include "expect_error.h"
#include "io/safetensors.h"
#include "model/generate.h"
#include "train/trainer.h"
#include "trainer_fixtures.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::EmulatedDevice;
using testing::expect_error;
using testing::make_task;
using testing::metrics;

std::string fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("tandem_device_" + name);
  fs::remove_all(d);
  return d.string();
}

TrainConfig config(const std::string& base, const std::string& out, std::vector<std::string> extra) {
  extra.push_back("output_dir=\"" + out + "\"");
  return TrainConfig::from_toml_string(base, extra);
}

void expect_same_tensors(const std::string& file_a, const std::string& file_b) {
  const SafetensorsFile a(file_a), b(file_b);
  ASSERT_EQ(a.names(), b.names());
  for (const auto& n : a.names()) EXPECT_EQ(a.load(n).to_floats(), b.load(n).to_floats()) << n;
}

struct DeviceCase {
  std::string name;
  std::vector<std::string> keys;
};

class EmulatedDeviceRun : public ::testing::TestWithParam<DeviceCase> {};

// Every strategy's step, fp32 and bf16 with master weights, LoRA, packing and DPO prefix sharing: the metrics and
// the saved weights and optimizer state are the CPU run's, bit for bit.
TEST_P(EmulatedDeviceRun, EqualsTheCpuRunBitForBit) {
  const DeviceCase& c = GetParam();
  const std::string base = make_task("device_" + c.name);
  const std::string cpu_dir = fresh_dir(c.name + "_cpu"), dev_dir = fresh_dir(c.name + "_dev");
  std::vector<std::string> keys = c.keys;
  keys.push_back("max_steps=6");
  Trainer(config(base, cpu_dir, keys)).train();
  EmulatedDevice device;
  Trainer on_device(config(base, dev_dir, keys), &device);
  ASSERT_EQ(on_device.model().weights().params.empty(), false);
  const Tensor& w0 = on_device.model().weights().param(on_device.model().weights().params[0]);
  EXPECT_EQ(w0.device(), Device::kCuda) << "the model's weights live on the device";
  expect_error([&] { (void)w0.data<float>(); }, {"on cuda", "expected"});  // the host cannot read them
  on_device.train();
  EXPECT_GT(device.uploaded_bytes, 0);
  EXPECT_GT(device.downloaded_bytes, 0);

  const std::vector<nlohmann::json> want = metrics(cpu_dir), got = metrics(dev_dir);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got, want);
  const std::string weights = fs::exists(cpu_dir + "/checkpoint-6/adapter_model.safetensors")
                                  ? "/checkpoint-6/adapter_model.safetensors"
                                  : "/checkpoint-6/model.safetensors";
  expect_same_tensors(cpu_dir + weights, dev_dir + weights);
  expect_same_tensors(cpu_dir + "/checkpoint-6/optimizer.safetensors", dev_dir + "/checkpoint-6/optimizer.safetensors");
}

INSTANTIATE_TEST_SUITE_P(
    Runs, EmulatedDeviceRun,
    ::testing::Values(DeviceCase{"mix_fp32", {"strategy=\"mix\""}},
                      DeviceCase{"maxright_bf16", {"strategy=\"maxright\"", "maxright_k=2", "bf16=true"}},
                      DeviceCase{"alright_lora", {"strategy=\"alright\"", "use_peft=true", "lora_r=4"}},
                      DeviceCase{"dpo_shared_prefix", {"strategy=\"dpo\"", "prefix_sharing=true"}},
                      DeviceCase{"sft_packed_checkpointed", {"strategy=\"sft\"", "packing=true",
                                                             "gradient_checkpointing=true"}}),
    [](const ::testing::TestParamInfo<DeviceCase>& i) { return i.param.name; });

// A run on the device saved at step 3, killed after step 4 and resumed there ends where the uninterrupted run
// ends: the checkpoint holds the device state exactly.
TEST(EmulatedDevice, ResumesExactly) {
  const std::string base = make_task("device_resume");
  const std::string straight = fresh_dir("resume_straight"), resumed = fresh_dir("resume_resumed");
  const std::vector<std::string> keys = {"strategy=\"alright\"", "bf16=true", "max_steps=6", "save_steps=3"};
  EmulatedDevice device;
  Trainer(config(base, straight, keys), &device).train();
  Trainer(config(base, resumed, keys), &device).train(4);
  std::vector<std::string> again = keys;
  again.push_back("resume_from_checkpoint=\"latest\"");
  Trainer second(config(base, resumed, again), &device);
  EXPECT_EQ(second.step(), 3);
  second.train();
  EXPECT_EQ(metrics(resumed), metrics(straight));
  expect_same_tensors(straight + "/checkpoint-6/model.safetensors", resumed + "/checkpoint-6/model.safetensors");
}

// KV-cached generation from a model on the device gives the CPU model's tokens.
TEST(EmulatedDevice, GeneratesTheCpuTokens) {
  const std::string base = make_task("device_generate");
  const std::string dir = fresh_dir("generate");
  Trainer cpu_run(config(base, dir + "/cpu", {"max_steps=2", "strategy=\"sft\""}));
  cpu_run.train();
  EmulatedDevice device;
  Trainer dev_run(config(base, dir + "/dev", {"max_steps=2", "strategy=\"sft\""}), &device);
  dev_run.train();
  GenerationConfig g;
  g.max_new_tokens = 8;
  g.temperature = 0.7;
  Rng a(3), b(3);
  const std::vector<int32_t> prompt = {1, 5, 7, 2};
  const std::vector<int32_t> want = generate(cpu_run.model(), prompt, g, a);
  EXPECT_EQ(generate(dev_run.model(), prompt, g, b), want);
  EXPECT_EQ(want.size(), 8u);
}

// The config's device: "cpu", "cuda" or "auto"; anything else, or "cuda" where no GPU can be used, is an error that
// says why, through the binary a user runs.
TEST(DeviceKey, BadDevicesAreClearErrors) {
  const std::string base = make_task("device_key");
  const std::string dir = fresh_dir("key");
  fs::create_directories(dir);
  auto run_with = [&](const std::string& device) {
    std::ofstream(dir + "/train.toml") << base << "device = \"" << device << "\"\n";
    return testing::run_tandem(dir, "train train.toml max_steps=1 strategy='\"sft\"' output_dir='\"" + dir +
                                        "/run\"'");
  };
  const testing::CliResult gpu = run_with("gpu");
  EXPECT_NE(gpu.status, 0);
  EXPECT_NE(gpu.err.find("'gpu' is not one of cpu, cuda, auto"), std::string::npos) << gpu.err;

  std::string why;
  if (cuda_usable(&why)) GTEST_SKIP() << "a GPU is usable here: device = \"cuda\" runs (test_cuda_backend.cpp)";
  const testing::CliResult cuda = run_with("cuda");
  EXPECT_NE(cuda.status, 0);
  EXPECT_NE(cuda.err.find("device \"cuda\": " + why), std::string::npos) << cuda.err;
  // "auto" falls back to the CPU and trains.
  const testing::CliResult automatic = run_with("auto");
  EXPECT_EQ(automatic.status, 0) << automatic.err;
}

}  // namespace
}  // namespace tandem
