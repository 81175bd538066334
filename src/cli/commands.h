// Subcommands of the `tandem` CLI, one file each.
#pragma once

namespace tandem {

int cmd_overfit(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int eval_win_rate(int argc, char** argv);
int cmd_sweep(int argc, char** argv);
int cmd_toy_task(int argc, char** argv);
int cmd_merge_lora(int argc, char** argv);
int cmd_train_tokenizer(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_chat_template(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_report(int argc, char** argv);
int cmd_inspect_data(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_chat(int argc, char** argv);
int cmd_version(int argc, char** argv);

}  // namespace tandem
