// `tandem eval --task win_rate`: the generation-based win rate of a model against a preference file's chosen
// responses, judged as a training run's `judge` key does (eval/judge_run.h).
#pragma once
#include "cli/args.h"

namespace tandem {

// args: the positional PREF.jsonl, --model, --judge and the options cmd_eval.cpp's task table lists.
int eval_win_rate(const Args& args);

}  // namespace tandem
