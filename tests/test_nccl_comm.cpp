// The NCCL communicator on one GPU rank: every collective on device buffers, read back and compared with the host
// values it must produce (one rank: sums are the values themselves, gathers place the bytes at their offsets and
// leave the rest alone), and comm.h's helpers on host values, which it routes to its bootstrap. Skipped, with the reason, when Tandem was built without NCCL or no GPU is visible; the
// development machines have none, so there it is compiled and linked only.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dist/comm.h"
#ifdef TANDEM_HAVE_NCCL
#include <cuda_runtime.h>

#include "dist/nccl_comm.h"
#endif

namespace tandem {
namespace {

#ifdef TANDEM_HAVE_NCCL

// A device copy of a host vector, freed at scope exit.
template <typename T>
struct DeviceVector {
  explicit DeviceVector(const std::vector<T>& host) : n(host.size()) {
    EXPECT_EQ(cudaMalloc(&ptr, n * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceVector() { cudaFree(ptr); }
  std::vector<T> host() const {
    std::vector<T> out(n);
    EXPECT_EQ(cudaMemcpy(out.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
  T* ptr = nullptr;
  size_t n;
};

// Why the test cannot run, or "" when a GPU is there.
std::string no_gpu_reason() {
  int devices = 0;
  const cudaError_t rc = cudaGetDeviceCount(&devices);
  if (rc != cudaSuccess) return std::string("cudaGetDeviceCount: ") + cudaGetErrorString(rc);
  return devices == 0 ? "no CUDA device visible" : "";
}

#endif

TEST(NcclComm, CollectivesOnDeviceBuffersGiveTheHostValues) {
#ifndef TANDEM_HAVE_NCCL
  GTEST_SKIP() << "built without NCCL (TANDEM_NCCL=OFF): the NCCL communicator is not compiled";
#else
  const std::string reason = no_gpu_reason();
  if (!reason.empty())
    GTEST_SKIP() << "no GPU (" << reason << "): the NCCL communicator is compiled and linked here, never run";
  std::unique_ptr<Comm> bootstrap = make_single_comm();
  std::unique_ptr<Comm> comm = make_nccl_comm(*bootstrap, 0);
  EXPECT_EQ(comm->backend_name(), "nccl");
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);

  const std::vector<float> f = {1.5f, -2.25f, 3e-8f, 7.0f};
  DeviceVector<float> df(f);
  comm->allreduce_sum(df.ptr, int64_t(f.size()));
  EXPECT_EQ(df.host(), f);
  const std::vector<double> d = {1e300, -0.1, 2.0 / 3.0};
  DeviceVector<double> dd(d);
  comm->allreduce_sum(dd.ptr, int64_t(d.size()));
  EXPECT_EQ(dd.host(), d);
  const std::vector<int64_t> i = {(int64_t(1) << 60) + 7, -3};  // beyond a double's 53 bits: summed as integers
  DeviceVector<int64_t> di(i);
  comm->allreduce_sum(di.ptr, int64_t(i.size()));
  EXPECT_EQ(di.host(), i);

  const std::vector<uint8_t> bytes = {9, 8, 7, 6, 5};
  DeviceVector<uint8_t> db(bytes);
  comm->broadcast(db.ptr, int64_t(bytes.size()), 0);
  EXPECT_EQ(db.host(), bytes);

  // Gathers: 5 bytes land at offset 3 of 10; the bytes around them keep their 0xAB.
  std::vector<uint8_t> want(10, 0xAB);
  std::copy(bytes.begin(), bytes.end(), want.begin() + 3);
  for (const bool all : {true, false}) {
    DeviceVector<uint8_t> recv(std::vector<uint8_t>(10, 0xAB));
    if (all)
      comm->allgatherv(db.ptr, recv.ptr, {5}, {3});
    else
      comm->gatherv(db.ptr, recv.ptr, {5}, {3}, 0);
    EXPECT_EQ(recv.host(), want) << (all ? "allgatherv" : "gatherv");
  }
  DeviceVector<uint8_t> in_place(want);
  comm->allgatherv(in_place.ptr + 3, in_place.ptr, {5}, {3});
  EXPECT_EQ(in_place.host(), want) << "allgatherv in place";
  comm->barrier();

  // Gradient channel: the values written on the default stream just before the start are the ones summed.
  std::vector<float> g1(1000), g2(37);
  for (size_t k = 0; k < g1.size(); ++k) g1[k] = float(k) * 0.5f;
  for (size_t k = 0; k < g2.size(); ++k) g2[k] = -float(k);
  DeviceVector<float> dg1(std::vector<float>(g1.size(), 0.0f)), dg2(std::vector<float>(g2.size(), 0.0f));
  ASSERT_EQ(cudaMemcpyAsync(dg1.ptr, g1.data(), g1.size() * 4, cudaMemcpyHostToDevice, nullptr), cudaSuccess);
  comm->start_allreduce_sum(dg1.ptr, int64_t(g1.size()));
  ASSERT_EQ(cudaMemcpyAsync(dg2.ptr, g2.data(), g2.size() * 4, cudaMemcpyHostToDevice, nullptr), cudaSuccess);
  comm->start_allreduce_sum(dg2.ptr, int64_t(g2.size()));
  comm->progress();
  comm->wait_all();
  EXPECT_EQ(dg1.host(), g1);
  EXPECT_EQ(dg2.host(), g2);

  // Host values (the helpers' stack variables and strings) go through the bootstrap communicator instead.
  EXPECT_EQ(sum_over_ranks(*comm, 2.5), 2.5);
  EXPECT_EQ(allgather_strings(*comm, "rank text"), std::vector<std::string>{"rank text"});
  EXPECT_EQ(broadcast_string(*comm, "config"), "config");
#endif
}

}  // namespace
}  // namespace tandem
