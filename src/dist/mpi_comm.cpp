// MPI ranks (Open MPI here; any MPI-3 implementation). Built when CMake finds MPI (TANDEM_HAVE_MPI).
#include <mpi.h>

#include <cstdio>
#include <limits>

#include "dist/comm.h"

namespace tandem {

namespace {

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail("MPI ", what, " failed: ", std::string(text, size_t(len)));
}

int as_count(int64_t n, const char* what) {
  TANDEM_CHECK(n >= 0 && n <= std::numeric_limits<int>::max(), "MPI ", what, ": ", n,
               " elements is beyond MPI's int counts; lower ddp_bucket_cap_mb");
  return int(n);
}

std::vector<int> as_counts(const std::vector<int64_t>& v, const char* what) {
  std::vector<int> out;
  for (int64_t x : v) out.push_back(as_count(x, what));
  return out;
}

class MpiComm : public Comm {
 public:
  MpiComm() {
    // Errors come back as return codes (check_mpi turns them into messages) instead of aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // Gradient buckets travel on their own communicator, so their matching never depends on the blocking
    // collectives' order.
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &grads_), "Comm_dup");
  }
  ~MpiComm() override { MPI_Comm_free(&grads_); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend_name() const override { return "mpi"; }

  void allreduce_sum(double* data, int64_t n) override {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, as_count(n, "allreduce"), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
              "allreduce");
  }
  void allreduce_sum(float* data, int64_t n) override {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, as_count(n, "allreduce"), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
              "allreduce");
  }
  void allreduce_sum(int64_t* data, int64_t n) override {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, as_count(n, "allreduce"), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD),
              "allreduce");
  }
  void broadcast(void* data, int64_t bytes, int root) override {
    check_mpi(MPI_Bcast(data, as_count(bytes, "broadcast"), MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
  }
  void allgatherv(const void* send, void* recv, const std::vector<int64_t>& counts,
                  const std::vector<int64_t>& displs) override {
    const std::vector<int> c = as_counts(counts, "allgatherv"), d = as_counts(displs, "allgatherv");
    const bool in_place = send == static_cast<const char*>(recv) + displs[size_t(rank_)];
    check_mpi(MPI_Allgatherv(in_place ? MPI_IN_PLACE : send, c[size_t(rank_)], MPI_BYTE, recv, c.data(), d.data(),
                             MPI_BYTE, MPI_COMM_WORLD),
              "allgatherv");
  }
  void gatherv(const void* send, void* recv, const std::vector<int64_t>& counts, const std::vector<int64_t>& displs,
               int root) override {
    const std::vector<int> c = as_counts(counts, "gatherv"), d = as_counts(displs, "gatherv");
    const bool in_place = rank_ == root && send == static_cast<const char*>(recv) + displs[size_t(rank_)];
    check_mpi(MPI_Gatherv(in_place ? MPI_IN_PLACE : send, c[size_t(rank_)], MPI_BYTE, recv, c.data(), d.data(),
                          MPI_BYTE, root, MPI_COMM_WORLD),
              "gatherv");
  }
  void barrier() override { check_mpi(MPI_Barrier(MPI_COMM_WORLD), "barrier"); }

  void start_allreduce_sum(float* data, int64_t n) override {
    pending_.emplace_back();
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data, as_count(n, "gradient allreduce"), MPI_FLOAT, MPI_SUM, grads_,
                             &pending_.back()),
              "gradient allreduce");
  }
  // Open MPI advances non-blocking collectives only inside MPI calls: testing them is what moves them on.
  void progress() override {
    if (pending_.empty()) return;
    int done = 0;
    check_mpi(MPI_Testall(int(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE), "gradient allreduce");
  }
  void wait_all() override {
    if (pending_.empty()) return;
    const int rc = MPI_Waitall(int(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE);
    pending_.clear();
    check_mpi(rc, "gradient allreduce");
  }

  [[noreturn]] void abort(int exit_code) override {
    std::fflush(nullptr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // not reached: MPI_Abort ends the process
  }

 private:
  int rank_ = 0, size_ = 1;
  MPI_Comm grads_ = MPI_COMM_NULL;
  std::vector<MPI_Request> pending_;
};

bool initialised_here = false;

}  // namespace

void connect_launched_ranks(int* argc, char*** argv) {
  if (!launched_by_mpirun()) return;
  int provided = 0;
  // One thread calls MPI (the main one); OpenMP threads never do.
  check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "Init_thread");
  initialised_here = true;
  set_world(std::make_unique<MpiComm>());
}

void finalize_world() {
  if (!initialised_here) return;
  set_world(make_single_comm());  // frees the gradient communicator before MPI ends
  MPI_Finalize();
  initialised_here = false;
}

}  // namespace tandem
