#include "cli/command_table.h"

#include <cstring>

#include "cli/commands.h"

namespace tandem {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"train", "joint SFT + preference training (strategy = sft|dpo|sequential|mix|alright|maxright)",
       "tandem train CONFIG.toml [key=value ...]\n"
       "  key=value           override a config key (TOML value syntax: strings in quotes)\n"
       "  prints a start-up summary on stderr (also written to OUTPUT_DIR/run_info.json)",
       cmd_train},
      {"eval", "f_SFT, f_DPO and reward accuracy of a checkpoint, or a benchmark task (--task) on a model",
       "tandem eval CONFIG.toml [--checkpoint DIR] [key=value ...] | --task multiple_choice|win_rate FILE.jsonl --model DIR\n"
       "  --checkpoint DIR    weights to evaluate (default: the config's model); DPO reference: the config's model\n"
       "  --task multiple_choice FILE.jsonl --model DIR [--prompt-style cloze|letters] [--limit N] [--out FILE.json]\n"
       "                      [--batch-size N] [--add-bos-token] [--base DIR]\n"
       "                      log-likelihood multiple choice (lm-evaluation-harness semantics): acc and acc_norm\n"
       "                      (by UTF-8 byte length) with stderr; --out writes them with per-item log-likelihoods\n"
       "  --model DIR         a Hugging Face folder or a Tandem checkpoint (--base DIR: a LoRA checkpoint's base)\n"
       "  --prompt-style S    cloze (default): \"Question: Q\\nAnswer:\" + \" choice\"; letters (MMLU): the\n"
       "                      choices listed as A. B. ... and \" A\", \" B\", ... scored\n"
       "  --add-bos-token     encode with the tokenizer's special tokens (lm-eval add_bos_token; default off)\n"
       "  --task win_rate PREF.jsonl --model DIR --judge toy|answers|reward_model [--judge-model DIR] [--template T]\n"
       "                      [--limit N] [--max-new-tokens N] [--out FILE.json] [--base DIR]\n"
       "                      generation-based win rate against the file's chosen responses, with stderr and a Wilson\n"
       "                      95% interval; --judge: toy (the toy task's exact judge), answers (exact match against\n"
       "                      \"accepted\" answers, else the chosen text), reward_model (summed log-prob of the\n"
       "                      template, default \"{prompt}{response}\", under --judge-model DIR); --limit N examples\n"
       "                      (default 64); answers of up to --max-new-tokens tokens (default 64); --out writes\n"
       "                      {model, data, judge, win_rate}",
       cmd_eval},
      {"sweep", "every method x lambda x seed, plus single-objective runs for the ideal point",
       "tandem sweep CONFIG.toml [--methods LIST] [--lambdas LIST] [--seeds LIST] [--out DIR] [--jobs N]\n"
       "             [--cost-repeats R] [--cost-steps S] [--testbed NAME] [key=value ...]\n"
       "  --methods LIST      comma-separated, default sequential,mix,alright,maxright\n"
       "  --lambdas LIST      default 0.25,0.5,0.75\n"
       "  --seeds LIST        default 0,1,2\n"
       "  --out DIR           default runs/sweep\n"
       "  --jobs N            training runs side by side, default 1; each gets OMP_NUM_THREADS = cores / N\n"
       "                      unless set (the ideal runs finish before MAXRIGHT starts)\n"
       "  --cost-repeats R    controlled cost measurement after the runs: R interleaved rounds of every method\n"
       "                      per lambda, one process at a time; default 0 (off)\n"
       "  --cost-steps S      steps of each cost run, default 30\n"
       "  --testbed NAME      the testbed the data come from (toy, words), stored in summary.json; omit for\n"
       "                      your own data",
       cmd_sweep},
      {"demo", "the forgetting testbed: pretrain (cached), sweep all methods, judge, write report.html",
       "tandem demo [--testbed toy|words] [--out DIR] [--cache DIR] [--lambdas LIST] [--seeds LIST] [--arch MODEL_TYPE]\n"
       "  --testbed NAME      toy (reverse vs copy, default) or words (WordNet antonyms vs synonyms)\n"
       "  --out DIR           default runs/demo\n"
       "  --cache DIR         where the pretrained base is kept, default runs/cache\n"
       "  --arch MODEL_TYPE   the testbed model's family: llama (default), gpt_neox (Pythia-shaped), gemma,\n"
       "                      gemma2, phi3, mistral, qwen2, qwen3 (toy testbed)\n"
       "  --words N           words testbed: how many adjectives (default 300)\n"
       "  --pretrain-steps N  words testbed: base pretraining steps (default 2400)\n"
       "  --steps N           words testbed: steps per sweep run (default 150)\n"
       "  --methods LIST      words testbed: the sweep's methods (default all four)\n"
       "  --eval-words W      words testbed: evaluate on the training words (training, default; a training subset)\n"
       "                      or on the held-out words (held_out)\n"
       "  --jobs N            training runs side by side (default: the number of cores); costs are measured\n"
       "                      one run at a time whatever N is",
       cmd_demo},
      {"report", "the HTML report (figures, table) of a sweep or of one training run; the Markdown results table",
       "tandem report DIR [--out FILE] [--markdown FILE] [--update-readme FILE [--section NAME]]\n"
       "  DIR                 a sweep folder (runs.jsonl) or a tandem train output folder (summary.json)\n"
       "  --out FILE          default DIR/report.html\n"
       "  --markdown FILE     a sweep's results table as Markdown\n"
       "  --update-readme FILE  replace the table between <!-- results:BEGIN NAME --> and <!-- results:END NAME -->\n"
       "  --section NAME      that NAME, default demo",
       cmd_report},
      {"toy-task", "write a tiny task where SFT (reverse) and preferences (copy) conflict, with a train.toml",
       "tandem toy-task DIR [--examples N] [--seed S]", cmd_toy_task},
      {"overfit", "train a tiny random Llama to memorise a sentence; logs DIR/metrics.jsonl, saves DIR/model",
       "tandem overfit [--out DIR] [--steps N] [--lr X] [--seed S]\n"
       "  --out DIR           default runs/overfit",
       cmd_overfit},
      {"merge-lora", "merge a PEFT LoRA adapter into its base and save a plain Hugging Face model",
       "tandem merge-lora BASE_DIR ADAPTER_DIR OUT_DIR [--bf16]", cmd_merge_lora},
      {"train-tokenizer", "learn a byte-level BPE and write a Hugging Face tokenizer folder",
       "tandem train-tokenizer --out DIR [--vocab-size N] [--special A,B] [--pattern qwen2|llama3|gpt2|o200k] "
       "[--text-field NAME] TEXT...\n"
       "  --out DIR           a folder (created): tokenizer.json, tokenizer_config.json (EOS, pad, ChatML\n"
       "                      chat_template), special_tokens_map.json; --out FILE.json writes tokenizer.json only\n"
       "  --special A,B       special tokens, default <|endoftext|>,<|im_start|>,<|im_end|>\n"
       "  --text-field NAME   learn from field NAME of each line of JSONL inputs (JSONL is refused without it)",
       cmd_train_tokenizer},
      {"tokenize", "token ids of TEXT, and their decoding", "tandem tokenize TOKENIZER_JSON TEXT", cmd_tokenize},
      {"chat-template", "render a conversation with the model's chat template",
       "tandem chat-template TOKENIZER_CONFIG_JSON MESSAGES_JSON [--generation-prompt]\n"
       "  MESSAGES_JSON       a list of messages, or {\"messages\": [...], \"tools\": [...]}; messages may carry\n"
       "                      tool_calls, tool_call_id, name and reasoning_content",
       cmd_chat_template},
      {"inspect-data", "show the first examples as the model sees them: tokens, prompt mask, truncation",
       "tandem inspect-data CONFIG.toml [--dataset sft|preference|both] [--n N] [--ids] [key=value ...]\n"
       "  --dataset WHICH     default both\n"
       "  --n N               examples per dataset, default 3\n"
       "  --ids               print each token's id after it\n"
       "  prompt tokens are shown dim in a terminal and as [prompt] text otherwise; completion tokens bold",
       cmd_inspect_data},
      {"generate", "continue a prompt with a model folder or checkpoint (KV-cached decoding)",
       "tandem generate MODEL_DIR --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S] "
       "[--no-chat-template] [--base DIR]\n"
       "  MODEL_DIR           a Hugging Face folder or a Tandem checkpoint (LoRA adapters are merged)\n"
       "  --base DIR          the base model of a LoRA adapter checkpoint (default: the adapter's\n"
       "                      base_model_name_or_path, when that folder exists)\n"
       "  --max-new-tokens N  default 64\n"
       "  --temperature T     default 0 (greedy)\n"
       "  --top-p P           default 1\n"
       "  --seed S            sampling seed, default 0\n"
       "  --no-chat-template  feed TEXT as is instead of as one user turn",
       cmd_generate},
      {"chat", "talk to a model: user turns from stdin, rendered with its chat template (/reset, /exit)",
       "tandem chat MODEL_DIR [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S] [--base DIR]\n"
       "  one user turn per line of stdin; /reset forgets the conversation, /exit (or end of input) quits\n"
       "  options as for tandem generate (greedy by default); --base DIR for a LoRA adapter checkpoint",
       cmd_chat},
      {"info", "print a Hugging Face model folder's architecture, parameter count and step memory",
       "tandem info MODEL_DIR [--batch B] [--seq T] [--recompute]", cmd_info},
      {"version", "Tandem's version, git commit, compiler, backends and precisions",
       "tandem version   (also: tandem --version)", cmd_version},
  };
  return table;
}

const Command* find_command(const std::string& name) {
  for (const auto& c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

bool asks_for_help(int argc, char** argv) {
  for (int i = 0; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
  return false;
}

std::string command_help(const Command& c) {
  const std::string usage = c.usage;
  const size_t eol = usage.find('\n');
  std::string out = "usage: " + usage.substr(0, eol) + "\n\n" + c.summary + "\n";
  if (eol != std::string::npos) out += "\noptions:\n" + usage.substr(eol + 1) + "\n";
  return out;
}

std::string overview() {
  std::string out = "usage: tandem <command> [options]   (tandem <command> --help: its options)\ncommands:\n";
  for (const auto& c : commands()) {
    const std::string usage = c.usage;
    out += "  " + usage.substr(0, usage.find('\n')) + "\n          " + c.summary + "\n";
  }
  return out + "  tandem --version\n";
}

}  // namespace tandem
