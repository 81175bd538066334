// Capability retention (the paper's MMLU): multiple-choice items scored by log-likelihood with
// lm-evaluation-harness semantics (output_type multiple_choice, lm_eval/api/task.py process_results):
//   a choice's log-likelihood is the summed log-prob of its continuation tokens given the context;
//   "pred = np.argmax(lls)", acc = pred == gold;
//   "pred_norm = np.argmax(lls / completion_len)", acc_norm = pred_norm == gold. lm-eval's completion_len is
//     "float(len(i)) for i in choices", Python characters; Tandem divides by UTF-8 bytes (the definition;
//     equal for ASCII choices);
//   stderr = sample std (n - 1) / sqrt(n), lm-eval's mean_stderr.
// Long rows are left-truncated as _loglikelihood_tokens does: the model reads
// (context + continuation)[-(max_length + 1):][:-1], max_length = max_position_embeddings.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/multiple_choice_items.h"
#include "model/decoder_model.h"

namespace tandem {

struct MultipleChoiceResult {
  int64_t n = 0;
  double acc = 0, acc_stderr = 0;
  double acc_norm = 0, acc_norm_stderr = 0;  // NaN when some item has no choice texts
  std::vector<std::vector<double>> loglikelihoods;  // [item][choice]
  std::vector<int64_t> pred, pred_norm;             // argmax choice per item (pred_norm -1 without texts)

  // summary.json's "multiple_choice": {"dataset", "n", "acc", "acc_stderr", "acc_norm", "acc_norm_stderr"}
  // (NaN as null).
  nlohmann::json summary_json(const std::string& dataset) const;
  // The same plus per-item "items": [{"where", "answer", "loglikelihoods", "pred", "pred_norm"}].
  nlohmann::json full_json(const std::string& dataset, const std::vector<MultipleChoiceItem>& items) const;
};

// Scores every (item, choice) row, `batch_rows` rows per forward. The model is only read (no training state).
MultipleChoiceResult score_multiple_choice(DecoderModel& model, const std::vector<MultipleChoiceItem>& items,
                                           int64_t batch_rows = 16);

}  // namespace tandem
