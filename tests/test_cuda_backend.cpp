// The CUDA backend end to end: a few training steps on the GPU against the same steps on the CPU backend, its
// determinism (same steps, same bits; resume exact), and its errors. Every test that needs a GPU is skipped, saying
// why, where none is usable (the development and CI machines compile and link the backend but have no GPU); the
// per-op checks are the op table's (test_backend_ops.cpp), which includes the CUDA backend when a GPU is usable.
//
// Tolerances (per step, relative): fp32 1e-4 on losses and 2e-3 on the final weights (summation order differs:
// cuBLAS and the tiled kernels against oneDNN and the CPU kernels; Adam's division amplifies tiny gradient
// differences in near-zero second moments), bf16 2e-2 on losses (each GEMM output rounded to 8 significant bits).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/devices.h"
#include "expect_error.h"
#include "io/safetensors.h"
#include "train/trainer.h"
#include "trainer_fixtures.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::make_task;
using testing::metrics;

// Skips the calling test, saying why, unless a GPU is usable.
#define REQUIRE_GPU()                                                   \
  do {                                                                  \
    std::string why_;                                                   \
    if (!cuda_usable(&why_)) GTEST_SKIP() << "needs a GPU: " << why_; \
  } while (0)

std::string run_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("tandem_cuda_" + name);
  fs::remove_all(d);
  return d.string();
}

std::string train(const std::string& base, const std::string& name, std::vector<std::string> keys) {
  const std::string dir = run_dir(name);
  keys.push_back("output_dir=\"" + dir + "\"");
  Trainer(TrainConfig::from_toml_string(base, keys)).train();
  return dir;
}

double relative(double got, double want) { return std::abs(got - want) / std::max(1e-6, std::abs(want)); }

// The logged losses of two runs, step by step, within `tol` relative.
void expect_losses_close(const std::string& got_dir, const std::string& want_dir, double tol) {
  const auto got = metrics(got_dir), want = metrics(want_dir);
  ASSERT_EQ(got.size(), want.size());
  int compared = 0;
  for (size_t i = 0; i < want.size(); ++i)
    for (const char* key : {"f_sft", "f_dpo", "loss"})
      if (want[i].contains(key) && want[i][key].is_number()) {
        EXPECT_LE(relative(got[i][key].get<double>(), want[i][key].get<double>()), tol)
            << key << " at line " << i << ": cuda " << got[i][key] << ", cpu " << want[i][key];
        ++compared;
      }
  EXPECT_GT(compared, 5);
}

TEST(CudaBackend, WithoutAGpuDeviceCudaSaysWhy) {
  std::string why;
  if (cuda_usable(&why)) GTEST_SKIP() << "a GPU is usable here";
  EXPECT_FALSE(why.empty());
  expect_error([] { cuda_backend(); }, {"device \"cuda\"", why});
  EXPECT_EQ(&backend_for_device("auto"), &cpu_backend());
  expect_error([] { backend_for_device("gpu"); }, {"\"gpu\"", "cpu", "cuda", "auto"});
}

// cuBLASLt is loaded on first use, not linked (its start-up cost would fall on every process): the loader finds
// it and its functions forward. Needs the CUDA build, not a GPU.
TEST(CudaBackend, CublasLtLoadsOnFirstUse) {
  if (!cuda_compiled()) GTEST_SKIP() << "built without the CUDA backend";
  const std::string versions = cuda_library_versions();
  EXPECT_NE(versions.find("CUDA runtime "), std::string::npos) << versions;
  EXPECT_NE(versions.find("cuBLASLt "), std::string::npos) << versions;
  EXPECT_EQ(versions.find("cuBLASLt 0"), std::string::npos) << versions;
}

TEST(CudaBackend, FullFineTuningStepsEqualTheCpuBackend) {
  REQUIRE_GPU();
  const std::string base = make_task("cuda_fp32");
  const std::vector<std::string> keys = {"strategy=\"mix\"", "max_steps=6"};
  const std::string cpu = train(base, "fp32_cpu", keys);
  std::vector<std::string> on_gpu = keys;
  on_gpu.push_back("device=\"cuda\"");
  const std::string gpu = train(base, "fp32_gpu", on_gpu);
  expect_losses_close(gpu, cpu, 1e-4);
  const SafetensorsFile a(cpu + "/checkpoint-6/model.safetensors"), b(gpu + "/checkpoint-6/model.safetensors");
  for (const auto& n : a.names()) {
    const std::vector<float> want = a.load(n).to_floats(), got = b.load(n).to_floats();
    double err = 0, scale = 1e-6;
    for (size_t i = 0; i < want.size(); ++i)
      err = std::max(err, double(std::abs(got[i] - want[i]))), scale = std::max(scale, double(std::abs(want[i])));
    EXPECT_LE(err / scale, 2e-3) << n;
  }
}

TEST(CudaBackend, Bf16LoraAndPreferenceStepsEqualTheCpuBackend) {
  REQUIRE_GPU();
  const std::string base = make_task("cuda_bf16");
  for (const std::vector<std::string>& keys :
       {std::vector<std::string>{"strategy=\"maxright\"", "maxright_k=2", "bf16=true", "max_steps=6"},
        std::vector<std::string>{"strategy=\"alright\"", "use_peft=true", "lora_r=4", "max_steps=6"},
        std::vector<std::string>{"strategy=\"dpo\"", "prefix_sharing=true", "max_steps=6"},
        std::vector<std::string>{"strategy=\"sft\"", "packing=true", "gradient_checkpointing=true", "max_steps=6"}}) {
    const std::string name = keys[0].substr(10, keys[0].size() - 11);
    const std::string cpu = train(base, name + "_cpu", keys);
    std::vector<std::string> on_gpu = keys;
    on_gpu.push_back("device=\"cuda\"");
    const std::string gpu = train(base, name + "_gpu", on_gpu);
    SCOPED_TRACE(keys[0] + " " + keys[1]);
    expect_losses_close(gpu, cpu, keys[2] == "bf16=true" ? 2e-2 : 1e-4);
  }
}

// The same steps twice give the same bits (no float atomics, fixed GEMM algorithms), so a resumed run on the GPU
// reproduces the uninterrupted one exactly, as on the CPU.
TEST(CudaBackend, RunsAreDeterministicAndResumeExactly) {
  REQUIRE_GPU();
  const std::string base = make_task("cuda_resume");
  const std::vector<std::string> keys = {"strategy=\"alright\"", "bf16=true", "max_steps=6", "save_steps=3",
                                         "device=\"cuda\""};
  const std::string a = train(base, "det_a", keys), b = train(base, "det_b", keys);
  EXPECT_EQ(metrics(a), metrics(b));
  const std::string resumed = run_dir("det_resumed");
  std::vector<std::string> first = keys;
  first.push_back("output_dir=\"" + resumed + "\"");
  Trainer(TrainConfig::from_toml_string(base, first)).train(4);
  first.push_back("resume_from_checkpoint=\"latest\"");
  Trainer(TrainConfig::from_toml_string(base, first)).train();
  EXPECT_EQ(metrics(resumed), metrics(a));
  const SafetensorsFile x(a + "/checkpoint-6/model.safetensors"), y(resumed + "/checkpoint-6/model.safetensors");
  for (const auto& n : x.names()) EXPECT_EQ(x.load(n).to_floats(), y.load(n).to_floats()) << n;
}

TEST(CudaBackend, OutOfMemorySaysWhatWasAskedAndWhatIsFree) {
  REQUIRE_GPU();
  Backend& gpu = cuda_backend();
  expect_error([&] { Tensor huge("huge", {int64_t(1) << 42}, DType::kF32, &gpu); },
               {"huge", "out of GPU memory", "asked for", "MiB free of"});
  Tensor after("after", {1024}, DType::kF32, &gpu);  // the backend still works
  EXPECT_EQ(after.to_floats(), std::vector<float>(1024, 0.0f));
}

TEST(CudaBackend, AnOpWithoutAKernelForTheDtypeNamesIt) {
  REQUIRE_GPU();
  Backend& gpu = cuda_backend();
  EXPECT_FALSE(gpu.supports(DType::kF64));
  Tensor a("a", {4}, DType::kF32, &gpu), on_host("on_host", {4}, DType::kF32);
  expect_error([&] { gpu.add(a, a, on_host); }, {"add", "on_host", "cpu"});
}

}  // namespace
}  // namespace tandem
