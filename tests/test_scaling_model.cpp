// bench/scaling_model.py (the data-parallel projection in README): its formulas against an element-by-element
// simulation of the ring and hierarchical allreduces (--check), one projected row and the measured-machine line
// against figures worked out by hand here from the formulas in the script's docstring.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::string kScript = std::string(TANDEM_HF_DIR) + "/../../bench/scaling_model.py";

// Runs the script with `args`; its exit status and output (stdout and stderr).
std::pair<int, std::string> run_model(const std::string& args) {
  FILE* pipe = popen(("/usr/bin/python3 " + kScript + " " + args + " 2>&1").c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (pipe && fgets(buf, sizeof buf, pipe)) out += buf;
  return {pipe ? pclose(pipe) : -1, out};
}

// The whitespace-separated fields of the first output line that starts (after spaces) with `prefix`.
std::vector<std::string> row(const std::string& out, const std::string& prefix) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const size_t at = line.find_first_not_of(' ');
    if (at == std::string::npos || line.compare(at, prefix.size(), prefix) != 0) continue;
    std::istringstream fields(line.substr(at + prefix.size()));
    std::vector<std::string> v;
    for (std::string f; fields >> f;) v.push_back(f);
    return v;
  }
  ADD_FAILURE() << "no line starting with '" << prefix << "' in:\n" << out;
  return {};
}

TEST(ScalingModel, FormulasMatchSimulatedAllreduces) {
  const auto [rc, out] = run_model("--check");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("simulations match the formulas"), std::string::npos) << out;
}

TEST(ScalingModel, ProjectedRowMatchesHandArithmetic) {
  // Llama-3.2-1B (tied): 1,235,814,400 parameters, all in matmuls. Compute: 6 * 1.2358144e9 * 8192 / 4e14 =
  // 0.15185 s. bf16 gradients: 2.4716 GB. Ring over 8 GPUs on NVLink: 2*7/8 * 2.4716288e9 / 360e9 + 14 * 3e-6 =
  // 0.012057 s. Without overlap: step 0.16391 s, efficiency 0.15185 / 0.16391 = 92.6%.
  const auto [rc, out] = run_model("--models 1B --gpus 8");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("PROJECTION (not a measurement)"), std::string::npos);
  const std::vector<std::string> r = row(out, "1B ");
  ASSERT_GE(r.size(), 7u) << out;
  EXPECT_EQ(r[0], "1.24B");
  EXPECT_EQ(r[1], "2.47");
  EXPECT_EQ(r[2], "8");
  EXPECT_EQ(r[3], "0.152");
  EXPECT_EQ(r[4], "0.0121");
  EXPECT_EQ(r[5], "0.164");
  EXPECT_EQ(r[6], "92.6%");
}

TEST(ScalingModel, MeasuredLinePricesEachGradientTensor) {
  // Bus bandwidth 1e9 B/s (the largest non-blocking row; the smaller row's 5e9 must not be used), alpha 1 us, 2
  // ranks, tensors of 1e6 and 3e6 bytes: 2*1/2 * 4e6 / 1e9 + 2 tensors * 2 steps * 1e-6 = 0.004004 s. Compute
  // 1.0 s, so the projected step is 1.0040 s against the measured 1.0100 s: -0.6%.
  const std::string path = (std::filesystem::temp_directory_path() / "tandem_scaling_model_test.jsonl").string();
  std::ofstream(path)
      << R"({"op": "allreduce_f32", "path": "nonblocking", "ranks": 2, "bytes": 4096, "busbw_Bps": 5e9})" "\n"
      << R"({"op": "allreduce_f32", "path": "nonblocking", "ranks": 2, "bytes": 1048576, "busbw_Bps": 1e9})" "\n"
      << R"({"op": "allreduce_f32", "path": "blocking", "ranks": 2, "bytes": 1048576, "busbw_Bps": 7e9})" "\n"
      << R"({"op": "latency", "ranks": 2, "bytes": 4, "alpha_s": 1e-6})" "\n"
      << R"({"op": "dp_step", "backend": "mpi", "ranks": 2, "threads": 1, "parameters": 1000000,)"
      << R"( "grad_bytes": 4000000, "grad_tensors": 2, "tokens_per_rank": 1024, "compute_s": 1.0,)"
      << R"( "allreduce_s": 0.005, "step_s": 1.01, "compute_min_s": 1.0, "allreduce_min_s": 0.004,)"
      << R"( "step_min_s": 1.004004, "grad_tensor_bytes": [1000000, 3000000]})" "\n";
  const auto [rc, out] = run_model("--models 1B --gpus 8 --measured " + path);
  std::filesystem::remove(path);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(row(out, "gradient allreduce s (median)"), (std::vector<std::string>{"0.0040", "0.0050", "-19.9%"}));
  EXPECT_EQ(row(out, "step s (median compute)"), (std::vector<std::string>{"1.0040", "1.0100", "-0.6%"}));
  EXPECT_EQ(row(out, "step s (min compute)"), (std::vector<std::string>{"1.0040", "1.0040", "+0.0%"}));
}

}  // namespace
