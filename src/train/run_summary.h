// The start-up summary of a training run: what is being trained, on what, and how. Printed to stderr when
// training starts and written to <output_dir>/run_info.json, so a wrong model, an empty dataset, heavy truncation
// or a MAXRIGHT run without an ideal point is seen before the steps are spent.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/collate.h"
#include "data/examples.h"
#include "model/decoder_model.h"
#include "train/train_config.h"

namespace tandem {

struct RunSummaryInputs {
  const TrainConfig& cfg;
  const DecoderModel& model;
  const std::vector<ParamRef>& trainable;  // what the optimizer updates (the adapters with LoRA)
  const std::vector<SftExample>& sft;
  const std::vector<PreferenceExample>& preference;
  const Truncation& truncation;
  const std::string& ideal_mode;  // MAXRIGHT's resolved ideal point: given | zero | running_min
  int world_size = 1;             // data-parallel ranks
};

// Dataset counts: examples, prompt and completion tokens (before truncation), and how many examples truncation
// shortens (a preference pair counts when either response is cut).
nlohmann::json sft_data_summary(const std::vector<SftExample>& data, const Truncation& t);
nlohmann::json preference_data_summary(const std::vector<PreferenceExample>& data, const Truncation& t);

nlohmann::json run_summary(const RunSummaryInputs& in);
std::string format_run_summary(const nlohmann::json& summary);  // the lines printed to stderr

// Prints the summary to stderr and writes <output_dir>/run_info.json (atomically).
void report_run_start(const RunSummaryInputs& in);

}  // namespace tandem
