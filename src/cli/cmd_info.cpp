#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/check.h"
#include "core/host_memory.h"
#include "model/config.h"
#include "model/memory_plan.h"

namespace tandem {

int cmd_info(int argc, char** argv) {
  TANDEM_CHECK(argc >= 1, "usage: tandem info MODEL_DIR [--batch B] [--seq T] [--recompute]");
  const ModelConfig c = ModelConfig::from_file(std::string(argv[0]) + "/config.json");
  const Args args(argc - 1, argv + 1, {"batch", "seq", "recompute"});
  std::printf("%s (%s): %lld layers, d=%lld, ffn=%lld, heads=%lld (kv %lld, head_dim %lld), vocab=%lld\n"
              "layer: %s\n"
              "parameters: %.2fM, rope_theta=%g, rope_scaling=%s\n",
              c.architecture.c_str(), c.model_type.c_str(), (long long)c.num_hidden_layers, (long long)c.hidden_size,
              (long long)c.intermediate_size, (long long)c.num_attention_heads, (long long)c.num_key_value_heads,
              (long long)c.head_dim, (long long)c.vocab_size, c.layer_summary().c_str(),
              double(c.num_parameters()) / 1e6, c.rope_theta, c.rope_scaling.type.c_str());
  StepShape s;
  s.batch = args.integer("batch", 1), s.seq = args.integer("seq", 512);
  s.recompute = args.str("recompute", "false") == "true";
  TANDEM_CHECK(s.batch > 0 && s.seq > 0, "--batch and --seq must be positive");
  std::printf("memory of a full fine-tuning step (AdamW), batch %lld x %lld%s:\n", (long long)s.batch,
              (long long)s.seq, s.recompute ? ", recomputing activations" : "");
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    s.dtype = dtype;
    std::printf("  %-4s %s\n", dtype_str(dtype), plan_step_memory(c, s).str().c_str());
  }
  if (const int64_t free = available_host_bytes(); free >= 0)
    std::printf("host memory available: %s\n", human_bytes(free).c_str());
  return 0;
}

}  // namespace tandem
