// Exact, programmatic judges for the toy reverse-vs-copy task (no LLM judge): the model answers held-out
// prompts greedily (KV-cached generation) and each answer is checked against the task's rule.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

#include "data/examples.h"
#include "model/decoder_model.h"

namespace tandem {

struct JudgeScores {
  double sft_accuracy = 0;             // SFT prompts answered with the exact reverse (+ <eos>)
  double preference_satisfaction = 0;  // preference prompts answered with the exact copy (+ <eos>)
  double win_rate = 0;                 // vs the dataset's rejected answer under the copy judge; ties count 1/2
  nlohmann::json to_json() const;
};

JudgeScores judge_toy_task(const DecoderModel& model, const std::vector<SftExample>& sft,
                           const std::vector<PreferenceExample>& preference);

}  // namespace tandem
