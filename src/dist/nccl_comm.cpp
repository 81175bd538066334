// Comm over NCCL (dist/nccl_comm.h). Blocking collectives run on a stream of their own, after the compute stream's
// queued work (an event), and return once the stream has finished, so their results are ready as MPI's are.
// Gradient sums run on a second stream and a second NCCL communicator (as MpiComm's duplicate communicator: their
// order never interleaves with the blocking ones) and are waited for in wait_all. NCCL has no allgatherv or
// gatherv: allgatherv is one grouped broadcast per rank, gatherv grouped sends to the root. Host buffers (the
// helpers in comm.h sum and gather host values: losses, config texts) go through the bootstrap communicator (MPI),
// so this can be the world. Never run: no GPU here.
#include "dist/nccl_comm.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>
#include <cstdlib>

namespace tandem {

namespace {

void check_cuda(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) fail("CUDA ", what, " failed: ", cudaGetErrorString(rc));
}

void check_nccl(ncclResult_t rc, const char* what, ncclComm_t comm = nullptr) {
  if (rc == ncclSuccess) return;
  const char* last = comm ? ncclGetLastError(comm) : nullptr;
  fail("NCCL ", what, " failed: ", ncclGetErrorString(rc), last && *last ? std::string(" (") + last + ")" : "");
}

// NCCL reads and writes device (or managed) memory only; anything else is a host buffer.
bool on_device(const void* p) {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();  // clears the error some CUDA versions report for plain host pointers
    return false;
  }
  return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
}

ncclComm_t connect(Comm& bootstrap, const char* what) {
  ncclUniqueId id{};
  if (bootstrap.rank() == 0) check_nccl(ncclGetUniqueId(&id), "GetUniqueId");
  bootstrap.broadcast(&id, sizeof id, 0);
  ncclComm_t comm = nullptr;
  check_nccl(ncclCommInitRank(&comm, bootstrap.size(), id, bootstrap.rank()), what);
  return comm;
}

class NcclComm : public Comm {
 public:
  NcclComm(Comm& bootstrap, int device, cudaStream_t compute) : bootstrap_(bootstrap), compute_(compute) {
    int devices = 0;
    check_cuda(cudaGetDeviceCount(&devices), "GetDeviceCount");
    TANDEM_CHECK(device >= 0 && device < devices, "NCCL communicator: CUDA device ", device, " does not exist (",
                 devices, " visible on rank ", bootstrap.rank(), ")");
    check_cuda(cudaSetDevice(device), "SetDevice");
    comm_ = connect(bootstrap, "CommInitRank");
    grads_comm_ = connect(bootstrap, "CommInitRank (gradients)");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "StreamCreate");
    check_cuda(cudaStreamCreateWithFlags(&grads_stream_, cudaStreamNonBlocking), "StreamCreate");
    check_cuda(cudaEventCreateWithFlags(&queued_, cudaEventDisableTiming), "EventCreate");
    check_cuda(cudaEventCreateWithFlags(&grads_done_, cudaEventDisableTiming), "EventCreate");
    check_cuda(cudaMalloc(&scratch_, sizeof(float)), "Malloc");
  }

  // Not reached after abort(). Errors are ignored: a destructor must not throw, and the process is ending.
  ~NcclComm() override {
    cudaStreamSynchronize(grads_stream_);
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(grads_comm_);
    ncclCommDestroy(comm_);
    cudaFree(scratch_);
    cudaEventDestroy(grads_done_);
    cudaEventDestroy(queued_);
    cudaStreamDestroy(grads_stream_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return bootstrap_.rank(); }
  int size() const override { return bootstrap_.size(); }
  std::string backend_name() const override { return "nccl"; }

  void allreduce_sum(double* data, int64_t n) override {
    on_device(data) ? blocking_sum(data, n, ncclFloat64) : bootstrap_.allreduce_sum(data, n);
  }
  void allreduce_sum(float* data, int64_t n) override {
    on_device(data) ? blocking_sum(data, n, ncclFloat32) : bootstrap_.allreduce_sum(data, n);
  }
  void allreduce_sum(int64_t* data, int64_t n) override {
    on_device(data) ? blocking_sum(data, n, ncclInt64) : bootstrap_.allreduce_sum(data, n);
  }

  void broadcast(void* data, int64_t bytes, int root) override {
    if (!on_device(data)) return bootstrap_.broadcast(data, bytes, root);
    after_compute(stream_);
    check_nccl(ncclBroadcast(data, data, count(bytes), ncclUint8, root, comm_, stream_), "Broadcast", comm_);
    finish(stream_, "broadcast");
  }

  void allgatherv(const void* send, void* recv, const std::vector<int64_t>& counts,
                  const std::vector<int64_t>& displs) override {
    check_layout(counts, displs, "allgatherv");
    if (!device_buffers(send, recv, "allgatherv")) return bootstrap_.allgatherv(send, recv, counts, displs);
    after_compute(stream_);
    char* out = static_cast<char*>(recv);
    check_nccl(ncclGroupStart(), "GroupStart");
    for (int r = 0; r < size(); ++r) {
      if (counts[size_t(r)] == 0) continue;  // counts are the same on every rank, so every rank skips it
      // The root sends from `send` (or in place) and every rank, the root too, receives at displs[r].
      const void* from = r == rank() ? send : out + displs[size_t(r)];
      check_nccl(ncclBroadcast(from, out + displs[size_t(r)], count(counts[size_t(r)]), ncclUint8, r, comm_, stream_),
                 "Broadcast (allgatherv)", comm_);
    }
    check_nccl(ncclGroupEnd(), "GroupEnd (allgatherv)", comm_);
    finish(stream_, "allgatherv");
  }

  void gatherv(const void* send, void* recv, const std::vector<int64_t>& counts, const std::vector<int64_t>& displs,
               int root) override {
    check_layout(counts, displs, "gatherv");
    // recv matters on the root only (elsewhere it may be null), so the send buffer decides: the same on every rank.
    if (!on_device(send)) return bootstrap_.gatherv(send, recv, counts, displs, root);
    TANDEM_CHECK(rank() != root || on_device(recv), "NCCL gatherv: the send buffer is on the GPU, the root's "
                 "receive buffer is not");
    after_compute(stream_);
    const int64_t mine = counts[size_t(rank())];
    check_nccl(ncclGroupStart(), "GroupStart");
    if (rank() == root) {
      char* out = static_cast<char*>(recv);
      for (int r = 0; r < size(); ++r) {
        if (r == root || counts[size_t(r)] == 0) continue;
        check_nccl(ncclRecv(out + displs[size_t(r)], count(counts[size_t(r)]), ncclUint8, r, comm_, stream_),
                   "Recv (gatherv)", comm_);
      }
    } else if (mine > 0) {
      check_nccl(ncclSend(send, count(mine), ncclUint8, root, comm_, stream_), "Send (gatherv)", comm_);
    }
    check_nccl(ncclGroupEnd(), "GroupEnd (gatherv)", comm_);
    char* own = static_cast<char*>(recv) + displs[size_t(root)];
    if (rank() == root && mine > 0 && own != send)
      check_cuda(cudaMemcpyAsync(own, send, size_t(mine), cudaMemcpyDeviceToDevice, stream_), "MemcpyAsync");
    finish(stream_, "gatherv");
  }

  // NCCL has no barrier: a one-element sum every rank must join, waited for.
  void barrier() override { blocking_sum(scratch_, 1, ncclFloat32); }

  void start_allreduce_sum(float* data, int64_t n) override {
    if (!on_device(data)) {  // gradients the CPU backend keeps: MPI's non-blocking channel
      bootstrap_.start_allreduce_sum(data, n);
      host_pending_ = true;
      return;
    }
    after_compute(grads_stream_);  // the bucket's gradients are written once the work queued so far has run
    check_nccl(ncclAllReduce(data, data, count(n), ncclFloat32, ncclSum, grads_comm_, grads_stream_),
               "AllReduce (gradients)", grads_comm_);
    pending_ = true;
  }
  // NCCL's kernels advance by themselves; this only surfaces an error (a peer gone) while backward still runs.
  void progress() override {
    if (host_pending_) bootstrap_.progress();
    if (!pending_) return;
    ncclResult_t async = ncclSuccess;
    check_nccl(ncclCommGetAsyncError(grads_comm_, &async), "CommGetAsyncError", grads_comm_);
    check_nccl(async, "gradient allreduce", grads_comm_);
  }
  // Host waits (the optimizer may read the sums on the host), and later compute-stream work is ordered after too.
  void wait_all() override {
    if (host_pending_) bootstrap_.wait_all();
    host_pending_ = false;
    if (!pending_) return;
    pending_ = false;
    check_cuda(cudaEventRecord(grads_done_, grads_stream_), "EventRecord");
    check_cuda(cudaStreamWaitEvent(compute_, grads_done_, 0), "StreamWaitEvent");
    finish(grads_stream_, "gradient allreduce");
  }

  [[noreturn]] void abort(int exit_code) override {
    std::fflush(nullptr);
    ncclCommAbort(grads_comm_);  // frees kernels that wait on peers, which would otherwise hang the process
    ncclCommAbort(comm_);
    bootstrap_.abort(exit_code);
    std::_Exit(exit_code);  // not reached: the bootstrap's abort ends the process
  }

 private:
  static size_t count(int64_t n) {
    TANDEM_CHECK(n >= 0, "NCCL: negative element count ", n);
    return size_t(n);
  }
  void check_layout(const std::vector<int64_t>& counts, const std::vector<int64_t>& displs, const char* what) const {
    TANDEM_CHECK(counts.size() == size_t(size()) && displs.size() == size_t(size()), "NCCL ", what, ": ",
                 counts.size(), " counts and ", displs.size(), " offsets for ", size(), " ranks");
  }
  // Both on the GPU (NCCL) or both on the host (the bootstrap); one of each is a caller's mistake.
  bool device_buffers(const void* send, const void* recv, const char* what) const {
    const bool send_dev = on_device(send), recv_dev = on_device(recv);
    TANDEM_CHECK(send_dev == recv_dev, "NCCL ", what, ": the send buffer is ", send_dev ? "on the GPU" : "on the host",
                 ", the receive buffer is not");
    return send_dev;
  }
  void after_compute(cudaStream_t stream) {
    check_cuda(cudaEventRecord(queued_, compute_), "EventRecord");
    check_cuda(cudaStreamWaitEvent(stream, queued_, 0), "StreamWaitEvent");
  }
  void blocking_sum(void* data, int64_t n, ncclDataType_t type) {
    after_compute(stream_);
    check_nccl(ncclAllReduce(data, data, count(n), type, ncclSum, comm_, stream_), "AllReduce", comm_);
    finish(stream_, "allreduce");
  }
  // Waits for the stream; a collective that failed on the device (a peer gone) reports here.
  void finish(cudaStream_t stream, const char* what) {
    check_cuda(cudaStreamSynchronize(stream), what);
    ncclResult_t async = ncclSuccess;
    ncclComm_t comm = stream == grads_stream_ ? grads_comm_ : comm_;
    check_nccl(ncclCommGetAsyncError(comm, &async), "CommGetAsyncError", comm);
    check_nccl(async, what, comm);
  }

  Comm& bootstrap_;
  cudaStream_t compute_ = nullptr, stream_ = nullptr, grads_stream_ = nullptr;
  ncclComm_t comm_ = nullptr, grads_comm_ = nullptr;
  cudaEvent_t queued_ = nullptr, grads_done_ = nullptr;
  float* scratch_ = nullptr;
  bool pending_ = false, host_pending_ = false;
};

}  // namespace

std::unique_ptr<Comm> make_nccl_comm(Comm& bootstrap, int device, void* compute_stream) {
  return std::make_unique<NcclComm>(bootstrap, device, static_cast<cudaStream_t>(compute_stream));
}

}  // namespace tandem
