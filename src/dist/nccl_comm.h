// The NCCL communicator: GPU ranks, one CUDA device each, collectives on device buffers. Built when CMake finds the
// CUDA toolkit, NCCL and MPI (TANDEM_NCCL, defines TANDEM_HAVE_NCCL). Compiled and linked on the development
// machines, which have no GPU: it has never run there (tests/test_nccl_comm.cpp skips without a GPU).
#pragma once
#include <memory>

#include "dist/comm.h"

namespace tandem {

// Binds this process to CUDA `device` and connects the ranks of `bootstrap` (MPI under mpirun; the single-process
// world for one rank): rank 0's ncclUniqueId travels to the others by bootstrap.broadcast. Device (or managed)
// buffers on `device` go through NCCL; host buffers (comm.h's helpers: summed losses, gathered config texts) through
// `bootstrap`, so the result can serve as the world. Gradients are expected to be written on `compute_stream` (a
// cudaStream_t; null: the legacy default stream): start_allreduce_sum orders its sum after the work queued there so
// far, on a stream of its own, so backward keeps running while buckets are summed. `bootstrap` must outlive the
// result; abort() goes through it, so that the ranks' processes end too.
std::unique_ptr<Comm> make_nccl_comm(Comm& bootstrap, int device, void* compute_stream = nullptr);

}  // namespace tandem
