// The joint post-training loop. Each step asks the strategy how to weight SFT and DPO, runs one forward/backward
// per objective it uses (each on its own data stream), clips, and takes one AdamW step. Every step is logged
// to <output_dir>/metrics.jsonl; evaluations, checkpoints and a final summary.json go to the same folder. A log
// line that cannot be written (a full disk) stops the run, after saving a checkpoint when it can.
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/collate.h"
#include "data/examples.h"
#include "data/stream.h"
#include "data/tokenizer_dir.h"
#include "dist/comm.h"
#include "dist/grad_reducer.h"
#include "dist/sharded_adamw.h"
#include "eval/multiple_choice_items.h"
#include "model/decoder_model.h"
#include "objectives/objectives.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "strategies/strategy.h"
#include "train/epoch_plan.h"
#include "train/metrics_sinks.h"
#include "train/train_config.h"

namespace tandem {

struct EvalResult {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  double f_sft = kNaN, f_dpo = kNaN, reward_accuracy = kNaN, reward_margin = kNaN;
  nlohmann::json to_json() const;
};

class Trainer {
 public:
  // Computes on the config's `device`, or on `backend` when given (the tests' emulated device).
  explicit Trainer(const TrainConfig& config, Backend* backend = nullptr);

  // Trains from the current step (0, or the resumed one) to max_steps, or only up to step `until` when it is
  // positive and smaller (as if interrupted there). The final evaluation, checkpoint and summary.json are
  // written when max_steps is reached; returns the evaluation at the stopping step.
  EvalResult train(int64_t until = 0);
  // f_SFT on the SFT eval set and f_DPO (with reward accuracy/margin) on the preference eval set; without eval
  // sets, on the first eval_max_examples training examples.
  EvalResult evaluate();

  DecoderModel& model() { return *model_; }
  AdamW& optimizer() { return optimizer_; }
  int64_t step() const { return step_; }

 private:
  struct StepRecord {
    StepPlan plan;
    double f_sft = EvalResult::kNaN, f_dpo = EvalResult::kNaN;
    PreferenceLoss pref;
    PairLogps policy;
    double grad_norm = 0, lr = 0, seconds = 0;
    double cpu_seconds = 0;  // the main thread's CPU time: robust to other load (with OMP_WAIT_POLICY=passive)
    int64_t tokens = 0;
    double comm_seconds = 0, comm_wait_seconds = 0;  // the gradient sum over ranks (world > 1)
  };

  void init_master_weights();
  void init_data_parallel();
  void report_optimizer_sharding() const;  // zero_stage = 1: the state this rank keeps
  bool main_rank() const { return comm_.rank() == 0; }
  // This rank's share of a global batch of indices.
  std::vector<int64_t> mine(const std::vector<int64_t>& global) const;
  // Arms the gradient reduction for the step's last backward pass, or (nullptr) disarms it.
  void reduce_during_backward(bool on);
  void reduce_gradients(StepRecord& r);
  StepRecord run_step();
  double probe(Objective o);
  double sft_loss_of(const std::vector<int64_t>& idx, const std::vector<SftExample>& data, bool train,
                     double weight, int64_t* tokens);
  PreferenceLoss pref_loss_of(const std::vector<int64_t>& idx, const std::vector<PreferenceExample>& data,
                              const PairLogps& ref, bool train, double weight, PairLogps* policy, int64_t* tokens);
  Batch sft_batch(const std::vector<int64_t>& idx, const std::vector<SftExample>& data) const;
  Batch preference_batch(const std::vector<int64_t>& idx, const std::vector<PreferenceExample>& data) const;
  void log_step(const StepRecord& r);
  void log_eval(const EvalResult& e);
  void log_line(const nlohmann::json& j);
  bool due(const std::string& strategy, int64_t every) const;  // an eval/save/log interval ends at step_
  [[noreturn]] void stop_on_unwritable_log(const std::string& why, const nlohmann::json& line);
  nlohmann::json state() const;
  std::string checkpoint_dir() const;  // of the current step
  void save(const std::string& dir, bool sync_log = true);
  [[noreturn]] void diverged(const std::string& what, double value);
  std::string save_before_stopping(const std::string& stop, bool sync_log);

  TrainConfig cfg_;
  Comm& comm_;  // the ranks of a data-parallel run (one when not started by mpirun)
  std::unique_ptr<GradReducer> reducer_;  // world > 1
  bool local_finite_ = true;  // this rank's losses of the step so far (names the rank a NaN came from)
  PreferenceConfig pref_cfg_;
  Truncation trunc_;
  std::unique_ptr<DecoderModel> model_;
  std::unique_ptr<TokenizerDir> tokenizer_;  // null: pre-tokenized data only
  std::vector<SftExample> sft_, sft_eval_;
  std::vector<PreferenceExample> pref_, pref_eval_;
  PairLogps ref_, ref_eval_;
  std::vector<MultipleChoiceItem> mc_items_;  // multiple_choice_dataset, scored at the end (empty: off)
  std::unique_ptr<DataStream> sft_stream_, pref_stream_;
  std::unique_ptr<Strategy> strategy_;
  std::string ideal_mode_;  // MAXRIGHT's resolved ideal point: given | zero | running_min
  AdamW optimizer_;  // the whole state; with zero_stage = 1 only while loading or saving it
  std::unique_ptr<ShardedAdamW> zero_;  // zero_stage = 1
  std::vector<ParamRef> params_;
  LrSchedule schedule_;
  EpochPlan epochs_;  // max_steps resolved from num_train_epochs, and where epochs end (eval/save "epoch")
  std::unique_ptr<MetricsSinks> sinks_;  // report_to's csv and tensorboard; metrics.jsonl is log_line's own
  bool jsonl_ = true;                    // report_to includes jsonl

  int64_t step_ = 0, tokens_ = 0, sft_updates_ = 0, dpo_updates_ = 0;
  double train_seconds_ = 0;
  double sft_running_ = EvalResult::kNaN, dpo_running_ = EvalResult::kNaN;  // EMA of the train losses
  std::string metrics_path_;
  nlohmann::json unwritten_metrics_ = nlohmann::json::array();  // log lines a write failure kept out of the log
};

// Peak resident memory of this process so far, in MiB (VmHWM).
double peak_memory_mib();

}  // namespace tandem
