// Turning examples into padded model batches. Prompts longer than max_prompt_length keep their last tokens (the
// part nearest the response; keep_start keeps the first); the response is then cut to fit max_length. Batches are
// padded to their longest row.
#pragma once
#include <cstdint>
#include <vector>

#include "data/examples.h"
#include "model/batch.h"

namespace tandem {

struct Truncation {
  int64_t max_length = 512;
  int64_t max_prompt_length = 256;
  bool keep_prompt_start = false;  // truncation_mode = keep_start
  void validate() const;
};

// Prompt tokens unscored, completion tokens scored.
Batch collate_sft(const std::vector<const SftExample*>& examples, const Truncation& trunc);

// 2n rows: the n chosen sequences, then the n rejected ones (prompt + response each).
Batch collate_preference(const std::vector<const PreferenceExample*>& examples, const Truncation& trunc);

// Prefix sharing: one row per pair, [prompt, chosen, rejected], where the rejected tokens see the prompt but not the
// chosen ones and continue its RoPE positions; the prompt is computed once instead of twice. Log-probs come out as
// 2n sequences in collate_preference's order (chosen 0..n-1, then rejected), equal to the unshared ones.
Batch collate_preference_shared(const std::vector<const PreferenceExample*>& examples, const Truncation& trunc);

// Packing: examples laid end to end in rows of at most max_length tokens, each attending only to itself with RoPE
// positions restarting at 0, so no compute goes to padding. One log-prob sequence per example, in input order.
Batch collate_sft_packed(const std::vector<const SftExample*>& examples, const Truncation& trunc);

}  // namespace tandem
