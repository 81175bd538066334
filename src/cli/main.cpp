// tandem: joint SFT + preference post-training for Llama-family models.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "core/check.h"

namespace {
void usage() {
  std::fprintf(stderr,
               "usage: tandem <command> [options]\n"
               "commands:\n"
               "  train CONFIG.toml [key=value ...]\n"
               "          joint SFT + preference training (strategy = sft|dpo|sequential|mix|alright|maxright)\n"
               "  eval CONFIG.toml [--checkpoint DIR] [key=value ...]\n"
               "          f_SFT, f_DPO and reward accuracy of a checkpoint (DPO reference: the config's model)\n"
               "  sweep CONFIG.toml [--methods LIST] [--lambdas LIST] [--seeds LIST] [--out DIR] [key=value ...]\n"
               "          every method x lambda x seed, plus single-objective runs for the ideal point\n"
               "  toy-task DIR [--examples N] [--seed S]\n"
               "          write a tiny task where SFT (reverse) and preferences (copy) conflict, with a train.toml\n"
               "  overfit [--out DIR] [--steps N] [--lr X] [--seed S]\n"
               "          train a tiny random Llama to memorise a sentence; logs DIR/metrics.jsonl, saves DIR/model\n"
               "  info MODEL_DIR\n"
               "          print a Hugging Face model folder's architecture and parameter count\n");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "overfit") return tandem::cmd_overfit(argc - 2, argv + 2);
    if (cmd == "info") return tandem::cmd_info(argc - 2, argv + 2);
    if (cmd == "train") return tandem::cmd_train(argc - 2, argv + 2);
    if (cmd == "eval") return tandem::cmd_eval(argc - 2, argv + 2);
    if (cmd == "sweep") return tandem::cmd_sweep(argc - 2, argv + 2);
    if (cmd == "toy-task") return tandem::cmd_toy_task(argc - 2, argv + 2);
    std::fprintf(stderr, "tandem: unknown command '%s'\n", cmd.c_str());
    usage();
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
