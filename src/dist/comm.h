// The collectives a data-parallel run needs, behind one interface: a single process (no communication), MPI for CPU
// ranks started by mpirun, NCCL for GPU ranks. Every rank calls the same collectives in the same order (MPI's rule);
// the trainer keeps that order by deciding everything from values that are already equal on every rank.
//
// Buffers are where the backend keeps them: host memory for MPI, device memory for NCCL.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/check.h"

namespace tandem {

// An error every rank raises together, from values they share (a diverged loss, mismatched configs): rank 0
// prints it once and every rank exits. Any other error on one rank stops the others (Comm::abort).
struct CollectiveError : Error {
  using Error::Error;
};

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend_name() const = 0;  // single | mpi | nccl

  // Blocking collectives; sums are in place.
  virtual void allreduce_sum(double* data, int64_t n) = 0;
  virtual void allreduce_sum(float* data, int64_t n) = 0;
  virtual void allreduce_sum(int64_t* data, int64_t n) = 0;
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  // Rank r's `counts[r]` bytes land at offset displs[r] of `recv` on every rank. `send` may point into `recv` at
  // this rank's own offset (in place).
  virtual void allgatherv(const void* send, void* recv, const std::vector<int64_t>& counts,
                          const std::vector<int64_t>& displs) = 0;
  // As allgatherv, but only `root` receives (recv is ignored elsewhere).
  virtual void gatherv(const void* send, void* recv, const std::vector<int64_t>& counts,
                       const std::vector<int64_t>& displs, int root) = 0;
  virtual void barrier() = 0;

  // Gradient reduction that overlaps the backward pass: start_allreduce_sum begins an f32 sum on a channel of its
  // own, progress() lets started ones advance (called between layers), wait_all() completes every started one.
  // Blocking collectives may run meanwhile: the gradient channel is a communicator (NCCL: a stream) of its own.
  virtual void start_allreduce_sum(float* data, int64_t n) = 0;
  virtual void progress() = 0;
  virtual void wait_all() = 0;

  // Stops every rank now (a local error the others cannot know of, so they would wait in a collective forever).
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

// One process: every collective is the identity.
std::unique_ptr<Comm> make_single_comm();

// The process-wide communicator: single until main connects the ranks mpirun started (connect_launched_ranks).
Comm& world();
void set_world(std::unique_ptr<Comm> comm);

// When this process was started by mpirun (its environment says so), initialises MPI and makes it the world;
// otherwise leaves the single-process world in place. Errors when mpirun started it but Tandem was built without
// MPI. finalize_world() ends MPI cleanly at exit.
void connect_launched_ranks(int* argc, char*** argv);
void finalize_world();
bool launched_by_mpirun();

// Conveniences over the collectives.
double sum_over_ranks(Comm& c, double v);
int64_t sum_over_ranks(Comm& c, int64_t v);
std::string broadcast_string(Comm& c, const std::string& s, int root = 0);
// Every rank's string, in rank order, on every rank.
std::vector<std::string> allgather_strings(Comm& c, const std::string& mine);
// Every rank's vector concatenated in rank order, on every rank (vectors may differ in length).
std::vector<double> allgather_concat(Comm& c, const std::vector<double>& mine);
std::vector<int64_t> allgather_concat(Comm& c, const std::vector<int64_t>& mine);

}  // namespace tandem
