// Times the gradient collective of data-parallel training, Comm::allreduce_sum on f32 buffers, under mpirun: sizes
// from 4 KiB to 256 MiB in powers of 4, blocking (allreduce_sum) and non-blocking (start_allreduce_sum + wait_all).
// Per size and path it prints bytes, median and min seconds, algorithm bandwidth (bytes / s) and bus bandwidth
// (algbw x 2(N-1)/N, the nccl-tests definition: the bytes each rank's link carries in a ring allreduce), then the
// small-message latency. One JSON line per row (lines starting with '{', for bench/scaling_model.py) and a table.
// A repetition's time is the slowest rank's: a collective is done when every rank is.
// usage: mpirun -np N bench_allreduce [--reps R] [--max-mib M] [--latency-reps L]   (bench/run_allreduce_bench.sh)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "rank_timing.h"
#include "cli/args.h"
#include "dist/comm.h"

using namespace tandem;

namespace {

using bench::median;
using bench::seconds;
using bench::slowest_rank;
using bench::Timing;

// The sum must be right before its speed means anything: rank r contributes (r + 1) * (i % 7 + 1) at element i.
void check_sum(Comm& comm, std::vector<float>& buf, const char* path) {
  const int r = comm.rank(), n = comm.size();
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = float((r + 1) * int(i % 7 + 1));
  if (std::string(path) == "blocking") {
    comm.allreduce_sum(buf.data(), int64_t(buf.size()));
  } else {
    comm.start_allreduce_sum(buf.data(), int64_t(buf.size()));
    comm.wait_all();
  }
  const int ranks_sum = n * (n + 1) / 2;
  for (size_t i = 0; i < buf.size(); ++i)
    TANDEM_CHECK(buf[i] == float(ranks_sum * int(i % 7 + 1)), "bench_allreduce: ", path, " sum of ", buf.size(),
                 " floats is wrong at element ", i, ": ", buf[i], ", expected ", ranks_sum * int(i % 7 + 1));
  std::fill(buf.begin(), buf.end(), 0.0f);  // repeated in-place sums of zeros cannot overflow
}

Timing time_allreduce(Comm& comm, std::vector<float>& buf, const char* path, int reps) {
  check_sum(comm, buf, path);  // also the warm-up: pages touched, MPI's buffers set up
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    comm.barrier();  // every rank starts together, so a rank's time is the collective's, not its wait for others
    times.push_back(seconds([&] {
      if (std::string(path) == "blocking") {
        comm.allreduce_sum(buf.data(), int64_t(buf.size()));
      } else {
        comm.start_allreduce_sum(buf.data(), int64_t(buf.size()));
        comm.wait_all();
      }
    }));
  }
  return slowest_rank(comm, times);
}

void print_row(Comm& comm, const char* path, int64_t bytes, const Timing& t) {
  if (comm.rank() != 0) return;
  const int n = comm.size();
  const double algbw = double(bytes) / t.median_s, busbw = algbw * 2.0 * (n - 1) / n;
  std::printf("%-12s %12lld %12.6f %12.6f %12.3f %12.3f\n", path, static_cast<long long>(bytes), t.median_s, t.min_s,
              algbw / 1e9, busbw / 1e9);
  std::printf("{\"op\": \"allreduce_f32\", \"path\": \"%s\", \"backend\": \"%s\", \"ranks\": %d, \"bytes\": %lld, "
              "\"median_s\": %.9f, \"min_s\": %.9f, \"algbw_Bps\": %.6g, \"busbw_Bps\": %.6g}\n",
              path, comm.backend_name().c_str(), n, static_cast<long long>(bytes), t.median_s, t.min_s, algbw, busbw);
}

}  // namespace

int main(int argc, char** argv) {
  connect_launched_ranks(&argc, &argv);
  Comm& comm = world();
  int rc = 0;
  try {
    const Args args(argc - 1, argv + 1, {"reps", "max-mib", "latency-reps"});
    const int reps = int(std::max(3LL, args.integer("reps", 10)));
    const int64_t max_bytes = args.integer("max-mib", 256) << 20;
    const int latency_reps = int(std::max(10LL, args.integer("latency-reps", 1000)));
    if (comm.rank() == 0) {
      std::printf("allreduce_sum (f32, in place) over %d ranks (%s); median and min of %d repetitions, each the "
                  "slowest rank's time; busbw = algbw x 2(N-1)/N\n",
                  comm.size(), comm.backend_name().c_str(), reps);
      std::printf("%-12s %12s %12s %12s %12s %12s\n", "path", "bytes", "median s", "min s", "algbw GB/s",
                  "busbw GB/s");
    }
    for (int64_t bytes = 4 << 10; bytes <= max_bytes; bytes *= 4) {
      std::vector<float> buf(size_t(bytes) / sizeof(float));
      // Fewer repetitions for the largest buffers keep the whole sweep near a minute on a small machine.
      const int size_reps = bytes >= (64 << 20) ? std::max(3, reps / 2) : reps;
      for (const char* path : {"blocking", "nonblocking"})
        print_row(comm, path, bytes, time_allreduce(comm, buf, path, size_reps));
    }
    // Small-message latency: one float, where the time is all per-message cost. A ring allreduce takes 2(N-1)
    // such steps, so the per-step latency alpha is this time / (2(N-1)) (the scaling model's alpha).
    std::vector<float> one(1);
    const Timing lat = time_allreduce(comm, one, "blocking", latency_reps);
    if (comm.rank() == 0) {
      const int steps = std::max(1, 2 * (comm.size() - 1));
      std::printf("latency: 4-byte allreduce median %.2f us, min %.2f us (alpha per ring step %.2f us)\n",
                  lat.median_s * 1e6, lat.min_s * 1e6, lat.median_s * 1e6 / steps);
      std::printf("{\"op\": \"latency\", \"backend\": \"%s\", \"ranks\": %d, \"bytes\": 4, \"median_s\": %.9f, "
                  "\"min_s\": %.9f, \"alpha_s\": %.9f}\n",
                  comm.backend_name().c_str(), comm.size(), lat.median_s, lat.min_s, lat.median_s / steps);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_allreduce (rank %d): %s\n", comm.rank(), e.what());
    rc = 1;
    if (comm.size() > 1) comm.abort(rc);  // the other ranks would wait in the next collective forever
  }
  finalize_world();
  return rc;
}
