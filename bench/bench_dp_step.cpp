// A data-parallel training step of the bench model (bench_step's defaults: d=512, 6 layers, ffn 1376, vocab 32000,
// 4x256 tokens per rank, fp32, SFT loss on every token) under mpirun, timed in its parts: the compute alone
// (forward + backward + AdamW, no communication), the gradient allreduce alone (every gradient tensor started on the
// non-blocking channel after backward, then wait_all: no overlap with backward), and the whole step with both.
// bench/scaling_model.py reads the JSON line and compares its projection for this machine with the measured step.
// usage: mpirun -np N bench_dp_step [--steps S] [--hidden --layers --heads --ffn --vocab --batch --seq]
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "rank_timing.h"
#include "cli/args.h"
#include "dist/comm.h"
#include "model/decoder_model.h"
#include "optim/adamw.h"

using namespace tandem;

namespace {

using bench::median;
using bench::seconds;
using bench::slowest_rank;
using bench::Timing;

void allreduce_grads(Comm& comm, const std::vector<ParamRef>& params) {
  for (const ParamRef& p : params) comm.start_allreduce_sum(p.grad->ptr(), p.grad->numel());
  comm.wait_all();
}

}  // namespace

int main(int argc, char** argv) {
  connect_launched_ranks(&argc, &argv);
  Comm& comm = world();
  int rc = 0;
  try {
    const Args args(argc - 1, argv + 1, {"hidden", "layers", "heads", "ffn", "vocab", "batch", "seq", "steps"});
    ModelConfig c;
    c.hidden_size = args.integer("hidden", 512);
    c.num_hidden_layers = args.integer("layers", 6);
    c.num_attention_heads = args.integer("heads", 8);
    c.num_key_value_heads = c.num_attention_heads;
    c.head_dim = c.hidden_size / c.num_attention_heads;
    c.intermediate_size = args.integer("ffn", 1376);
    c.vocab_size = args.integer("vocab", 32000);
    const int64_t B = args.integer("batch", 4), T = args.integer("seq", 256), steps = args.integer("steps", 5);

    DecoderModel model(c, cpu_backend());
    Rng rng(0);  // the same initial weights on every rank, as after the trainer's broadcast
    init_random(model.weights(), rng);
    Rng data_rng(uint64_t(1000 + comm.rank()));  // each rank its own shard of tokens
    Batch batch(B, T);
    for (auto& t : batch.tokens) t = int32_t(data_rng.below(uint64_t(c.vocab_size)));
    for (int64_t b = 0; b < B; ++b) std::fill_n(batch.loss_mask.begin() + b * T + 1, T - 1, 1);
    AdamW opt({0.9, 0.95, 1e-8, 0.1});
    const auto params = model.trainable_params();
    int64_t grad_bytes = 0;
    for (const ParamRef& p : params) grad_bytes += p.grad->bytes();

    std::vector<double> compute, allreduce, whole;
    const std::vector<float> dlogp(size_t(B), -1.0f / float(batch.scored_tokens()));
    // The same work with and without the sum: backward, (sum,) update with the mean gradient.
    auto step = [&](bool sum) {
      model.zero_grads();
      model.forward_backward(batch, dlogp);
      if (sum) allreduce_grads(comm, params);
      opt.step(params, 1e-4, 1.0 / comm.size());
    };
    step(true);  // warm-up: allocations, page faults, MPI's buffers
    for (int64_t s = 0; s < steps; ++s) {  // interleaved, so load from elsewhere hits all three alike
      comm.barrier();
      compute.push_back(seconds([&] { step(false); }));
      comm.barrier();
      allreduce.push_back(seconds([&] { allreduce_grads(comm, params); }));
      comm.barrier();
      whole.push_back(seconds([&] { step(true); }));
    }
    const Timing compute_t = slowest_rank(comm, compute), allreduce_t = slowest_rank(comm, allreduce),
                 whole_t = slowest_rank(comm, whole);
    std::string tensor_bytes;  // each gradient tensor's size: the projection prices one allreduce per tensor
    for (const ParamRef& p : params)
      tensor_bytes += (tensor_bytes.empty() ? "" : ", ") + std::to_string(p.grad->bytes());
    if (comm.rank() == 0) {
      std::printf("data-parallel step, %d ranks x %d threads, %lld parameters, %lld gradient bytes, %lldx%lld tokens "
                  "per rank, median (min) of %lld, slowest rank: compute %.4f (%.4f) s, allreduce %.4f (%.4f) s, "
                  "whole step %.4f (%.4f) s\n",
                  comm.size(), omp_get_max_threads(), static_cast<long long>(c.num_parameters()),
                  static_cast<long long>(grad_bytes), static_cast<long long>(B), static_cast<long long>(T),
                  static_cast<long long>(steps), compute_t.median_s, compute_t.min_s, allreduce_t.median_s,
                  allreduce_t.min_s, whole_t.median_s, whole_t.min_s);
      std::printf("{\"op\": \"dp_step\", \"backend\": \"%s\", \"ranks\": %d, \"threads\": %d, \"parameters\": %lld, "
                  "\"grad_bytes\": %lld, \"grad_tensors\": %zu, \"tokens_per_rank\": %lld, \"compute_s\": %.6f, "
                  "\"allreduce_s\": %.6f, \"step_s\": %.6f, \"compute_min_s\": %.6f, \"allreduce_min_s\": %.6f, "
                  "\"step_min_s\": %.6f, \"grad_tensor_bytes\": [%s]}\n",
                  comm.backend_name().c_str(), comm.size(), omp_get_max_threads(),
                  static_cast<long long>(c.num_parameters()), static_cast<long long>(grad_bytes), params.size(),
                  static_cast<long long>(B * T), compute_t.median_s, allreduce_t.median_s, whole_t.median_s,
                  compute_t.min_s, allreduce_t.min_s, whole_t.min_s, tensor_bytes.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dp_step (rank %d): %s\n", comm.rank(), e.what());
    rc = 1;
    if (comm.size() > 1) comm.abort(rc);
  }
  finalize_world();
  return rc;
}
