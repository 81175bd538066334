// The memory of a training step, computed before anything is allocated from the same tables the model allocates
// from: the weight and adapter arenas (model/weights.h, model/lora.h), AdamW's state, the activation table
// (model/activations.h), the gradient buffers of the backward pass and the CPU kernels' scratch.
// `tandem info` and `bench_step` print it, the trainer checks it against free memory before it starts
// (train/memory_check.h); a test holds it to what the model allocates.
#pragma once
#include <cstdint>
#include <string>

#include "core/dtype.h"
#include "model/config.h"
#include "model/lora.h"

namespace tandem {

struct StepShape {
  int64_t batch = 1, seq = 1;
  DType dtype = DType::kF32;      // weight and activation storage
  bool recompute = false;         // activation recomputation
  bool master_weights = true;     // f32 master copies of bf16 weights (AdamW)
  int64_t logits_chunk_rows = 0;  // 0: automatic (logits_chunk_rows, backends/backend.h)
  const LoraConfig* lora = nullptr;  // null: full fine-tuning
};

struct StepMemory {
  int64_t weights = 0;      // model weights and LoRA adapters
  int64_t gradients = 0;    // of the trainable parameters, f32
  int64_t optimizer = 0;    // AdamW moments and master copies
  int64_t activations = 0;  // saved for the backward pass (and LoRA's adapter inputs)
  int64_t backward = 0;     // gradient buffers of the backward pass, RoPE tables
  // The CPU kernels' own scratch: the LM head's chunk of logits (their gradient, the gathered rows) and attention's
  // head-major copies of its inputs and gradients.
  int64_t workspace = 0;
  int64_t total() const { return weights + gradients + optimizer + activations + backward + workspace; }
  std::string str() const;  // "weights 1.19 GB, gradients 2.38 GB, ...; total 9.10 GB"
};

std::string human_bytes(int64_t bytes);  // "2.38 GB", "940.2 MB"

// Fails on an invalid config or a shape whose bytes would not fit int64.
StepMemory plan_step_memory(const ModelConfig& c, const StepShape& s);

// Fails, before anything is allocated, when `m` needs more than `available` bytes (core/host_memory.h; < 0:
// unknown, no check). The message names `what`, the plan and what makes a step smaller.
void check_fits_in_memory(const StepMemory& m, int64_t available, const std::string& what);

}  // namespace tandem
