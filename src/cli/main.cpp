// tandem: joint SFT + preference post-training for Llama-family models.
#include <cstdio>
#include <new>
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
               "  demo [--out DIR] [--cache DIR] [--lambdas LIST] [--seeds LIST]\n"
               "          the forgetting testbed: pretrain (cached), sweep all methods, judge, write report.html\n"
               "  report SWEEP_DIR [--out FILE]\n"
               "          the HTML report (plots, table) of a sweep\n"
               "  toy-task DIR [--examples N] [--seed S]\n"
               "          write a tiny task where SFT (reverse) and preferences (copy) conflict, with a train.toml\n"
               "  overfit [--out DIR] [--steps N] [--lr X] [--seed S]\n"
               "          train a tiny random Llama to memorise a sentence; logs DIR/metrics.jsonl, saves DIR/model\n"
               "  merge-lora BASE_DIR ADAPTER_DIR OUT_DIR [--bf16]\n"
               "          merge a PEFT LoRA adapter into its base and save a plain Hugging Face model\n"
               "  train-tokenizer --out FILE [--vocab-size N] [--special A,B] [--pattern qwen2|llama3|gpt2] TEXT...\n"
               "          learn a byte-level BPE and write a Hugging Face tokenizer.json\n"
               "  tokenize TOKENIZER_JSON TEXT\n"
               "          token ids of TEXT, and their decoding\n"
               "  chat-template TOKENIZER_CONFIG_JSON MESSAGES_JSON [--generation-prompt]\n"
               "          render a conversation with the model's chat template\n"
               "  info MODEL_DIR [--batch B] [--seq T] [--recompute]\n"
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
    if (cmd == "demo") return tandem::cmd_demo(argc - 2, argv + 2);
    if (cmd == "report") return tandem::cmd_report(argc - 2, argv + 2);
    if (cmd == "merge-lora") return tandem::cmd_merge_lora(argc - 2, argv + 2);
    if (cmd == "train-tokenizer") return tandem::cmd_train_tokenizer(argc - 2, argv + 2);
    if (cmd == "tokenize") return tandem::cmd_tokenize(argc - 2, argv + 2);
    if (cmd == "chat-template") return tandem::cmd_chat_template(argc - 2, argv + 2);
    std::fprintf(stderr, "tandem: unknown command '%s'\n", cmd.c_str());
    usage();
    return 2;
  } catch (const std::bad_alloc&) {
    // An allocation past what the memory check foresaw (or a command without one).
    std::fprintf(stderr, "tandem %s: error: out of host memory (an allocation failed); `tandem info MODEL_DIR "
                 "--batch B --seq T` prints what a training step needs\n", cmd.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
