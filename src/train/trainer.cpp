#include "train/trainer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "backends/devices.h"
#include "core/check.h"
#include "core/progress.h"
#include "dist/fault_injection.h"
#include "dist/rank_agreement.h"
#include "dist/shards.h"
#include "eval/judge_run.h"
#include "eval/multiple_choice.h"
#include "io/atomic_file.h"
#include "io/checked_write.h"
#include "io/hf_checkpoint.h"
#include "io/json_file.h"
#include "train/checkpoint.h"
#include "train/memory_check.h"
#include "train/reference.h"
#include "train/run_summary.h"
#include "train/tokenizer_files.h"

namespace tandem {

namespace fs = std::filesystem;

namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double num_or_nan(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : EvalResult::kNaN; }

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double ema(double running, double value) {
  if (!std::isfinite(value)) return running;
  return std::isfinite(running) ? 0.9 * running + 0.1 * value : value;
}

template <typename T>
std::vector<T> head(const std::vector<T>& v, int64_t n) {
  return {v.begin(), v.begin() + std::min<int64_t>(n, int64_t(v.size()))};
}

template <typename T>
std::vector<const T*> pick(const std::vector<T>& data, const std::vector<int64_t>& idx) {
  std::vector<const T*> out;
  for (int64_t i : idx) out.push_back(&data[i]);
  return out;
}

JudgeOptions judge_options(const TrainConfig& c) {
  return {c.judge, c.judge_model_path, c.judge_template, c.win_rate_max_examples, c.judge_max_new_tokens};
}

PairLogps pick_pairs(const PairLogps& all, const std::vector<int64_t>& idx) {
  PairLogps p;
  for (int64_t i : idx) {
    p.chosen.push_back(all.chosen[i]);
    p.rejected.push_back(all.rejected[i]);
    p.chosen_tokens.push_back(all.chosen_tokens[i]);
    p.rejected_tokens.push_back(all.rejected_tokens[i]);
  }
  return p;
}

std::vector<int64_t> range(int64_t begin, int64_t end) {
  std::vector<int64_t> v;
  for (int64_t i = begin; i < end; ++i) v.push_back(i);
  return v;
}

int64_t real_tokens(const Batch& b) {
  int64_t n = 0;
  for (int32_t l : b.lengths) n += l;
  return n;
}

// The folder resume_from_checkpoint names ("" for a fresh run), after cleaning up what interrupted saves left in
// output_dir: "latest" is the newest complete checkpoint, and the incomplete ones passed over are reported.
std::string checkpoint_to_resume(const TrainConfig& cfg) {
  for (const std::string& note : recover_interrupted_saves(cfg.output_dir))
    std::fprintf(stderr, "tandem: %s\n", note.c_str());
  if (cfg.resume_from_checkpoint != "latest") return cfg.resume_from_checkpoint;
  std::vector<std::string> skipped;
  const std::string latest = latest_checkpoint(cfg.output_dir, &skipped);
  std::string passed_over;
  for (const std::string& s : skipped) passed_over += "\n  incomplete: " + s;
  TANDEM_CHECK(!latest.empty(), "resume_from_checkpoint = latest: no complete checkpoint-* folder in ",
               cfg.output_dir, passed_over);
  if (!skipped.empty()) std::fprintf(stderr, "tandem: resuming from %s%s\n", latest.c_str(), passed_over.c_str());
  return latest;
}

// Where f_SFT / f_DPO were evaluated, for the report's wording: a held-out set, the first eval_max_examples
// training examples, or nowhere (null: the run has no such data).
nlohmann::json eval_data(const std::string& train, const std::string& eval) {
  if (train.empty()) return nullptr;
  return eval.empty() ? "training_subset" : "held_out";
}

// The ideal point MAXRIGHT used: the given values, zero, or (running_min) the minima it had reached at the end.
nlohmann::json maxright_ideal(const TrainConfig& cfg, const std::string& mode, const nlohmann::json& state) {
  nlohmann::json j = {{"f_sft", 0.0}, {"f_dpo", 0.0}, {"source", mode}};
  if (mode == "given") j["f_sft"] = cfg.sft_ideal, j["f_dpo"] = cfg.dpo_ideal;
  if (mode == "running_min") j["f_sft"] = state.at("min")[0], j["f_dpo"] = state.at("min")[1];
  return j;
}

// What must be the same on every rank: the config and the data each rank loaded (examples and a hash of their
// tokens), so a rank reading another file version or an edited config is caught at start-up.
nlohmann::json rank_fingerprint(const TrainConfig& cfg, const std::vector<SftExample>& sft,
                                const std::vector<SftExample>& sft_eval, const std::vector<PreferenceExample>& pref,
                                const std::vector<PreferenceExample>& pref_eval) {
  nlohmann::json j = cfg.to_json();
  auto data = [&](const char* key, size_t n, uint64_t hash) {
    j[key] = std::to_string(n) + " examples, token hash " + std::to_string(hash);
  };
  data("data: sft_dataset", sft.size(), dataset_hash(sft));
  data("data: sft_eval_dataset", sft_eval.size(), dataset_hash(sft_eval));
  data("data: preference_dataset", pref.size(), dataset_hash(pref));
  data("data: preference_eval_dataset", pref_eval.size(), dataset_hash(pref_eval));
  return j;
}

bool all_finite(const PairLogps& p) {
  for (const auto* v : {&p.chosen, &p.rejected})
    for (double x : *v)
      if (!std::isfinite(x)) return false;
  return true;
}

// Replicas that agree bit for bit hash alike.
uint64_t params_hash(const std::vector<ParamRef>& params) {
  std::vector<const Tensor*> values;
  for (const ParamRef& p : params) values.push_back(p.value);
  return tensors_hash(values);
}

}  // namespace

double peak_memory_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return EvalResult::kNaN;
}

nlohmann::json EvalResult::to_json() const {
  return {{"f_sft", num(f_sft)}, {"f_dpo", num(f_dpo)}, {"reward_accuracy", num(reward_accuracy)},
          {"reward_margin", num(reward_margin)}};
}

// A bf16 model loaded from a checkpoint: AdamW's f32 master copies take the checkpoint's values, not their bf16
// rounding, so fine-tuning an fp32 checkpoint in bf16 starts from its exact weights (as PyTorch autocast, whose
// parameters stay f32, does). A bf16 checkpoint gives the same values either way.
void Trainer::init_master_weights() {
  if (!model_->bf16() || !cfg_.master_weights || model_->has_lora() || cfg_.model_name_or_path.empty()) return;
  optimizer_.init_state(params_);
  // params_ follows the weights' tensor table (model_params), which says each tensor's checkpoint row order.
  const std::vector<ParamInfo>& table = model_->weights().params;
  TANDEM_CHECK(table.size() == params_.size(), "master weights: ", params_.size(), " parameters, ", table.size(),
               " tensors in the model's table");
  std::vector<TensorRequest> masters;
  for (size_t i = 0; i < params_.size(); ++i)
    if (!optimizer_.master_weights()[i].empty())
      masters.push_back({table[i].name, &optimizer_.master_weights()[i], table[i].interleaved_heads});
  load_tensors(cfg_.model_name_or_path, masters);
}

Trainer::Trainer(const TrainConfig& config, Backend* backend) : cfg_(config), comm_(world()) {
  cfg_.validate();
  Backend& device = backend ? *backend : backend_for_device(cfg_.device);
  // The gradient sum over ranks reads and writes host memory (MPI); GPU ranks need the NCCL communicator, which is
  // compiled (dist/nccl_comm.h) but not yet wired into training.
  TANDEM_CHECK(comm_.size() == 1 || device.device() == Device::kCpu, "device \"", cfg_.device, "\" with ",
               comm_.size(), " ranks: data-parallel training runs on CPU ranks only for now (device = \"cpu\")");
  pref_cfg_ = {cfg_.loss_type, cfg_.beta, cfg_.label_smoothing, cfg_.simpo_gamma, cfg_.rpo_alpha};
  pref_cfg_.validate();
  trunc_ = {cfg_.max_length, cfg_.max_prompt_length, cfg_.truncation_mode == "keep_start"};
  trunc_.validate();
  check_training_fits(cfg_);

  if (!cfg_.model_name_or_path.empty()) {
    model_ = load_model(cfg_.model_name_or_path, cfg_.bf16 ? DType::kBF16 : DType::kF32, device);
  } else {
    model_ = std::make_unique<DecoderModel>(ModelConfig::from_file(cfg_.model_config), device);
    Rng rng(uint64_t(cfg_.model_init_seed));
    init_random(model_->weights(), rng);
    model_->set_bf16(cfg_.bf16);
  }
  model_->set_recompute(cfg_.gradient_checkpointing);
  model_->set_logits_chunk_rows(cfg_.logits_chunk_rows);
  if (cfg_.use_peft) {
    Rng rng(uint64_t(cfg_.seed) * 2 + 4);
    model_->enable_lora(cfg_.lora_config(), rng);
    model_->set_dropout_seed(uint64_t(cfg_.seed) * 2 + 5);
  }

  tokenizer_ = load_run_tokenizer(cfg_.tokenizer_name_or_path, cfg_.model_name_or_path, cfg_.use_chat_template);
  if (tokenizer_)
    TANDEM_CHECK(tokenizer_->tokenizer.vocab_size() <= model_->config().vocab_size, tokenizer_->dir,
                 ": the tokenizer has ", tokenizer_->tokenizer.vocab_size(), " tokens but the model's vocab_size is ",
                 model_->config().vocab_size);
  check_judge_options(judge_options(cfg_), tokenizer_.get());  // before training, not after it
  TextEncoder encoder = tokenizer_ ? tokenizer_->encoder() : TextEncoder{};
  encoder.vocab_size = model_->config().vocab_size;
  const TextEncoder* enc = &encoder;
  const uint64_t seed = uint64_t(cfg_.seed);
  // A stream draws the global batch (every rank's share, in rank order); mine() keeps this rank's.
  const int64_t bs = cfg_.per_device_train_batch_size * comm_.size();
  if (!cfg_.sft_dataset.empty()) {
    sft_ = load_sft_dataset(cfg_.sft_dataset, enc, cfg_.dataset_text_field);
    sft_eval_ = cfg_.sft_eval_dataset.empty() ? head(sft_, cfg_.eval_max_examples)
                                              : load_sft_dataset(cfg_.sft_eval_dataset, enc, cfg_.dataset_text_field);
    sft_stream_ = std::make_unique<DataStream>(int64_t(sft_.size()), bs, seed * 2 + 1);
  }
  if (!cfg_.preference_dataset.empty()) {
    pref_ = load_preference_dataset(cfg_.preference_dataset, enc);
    pref_eval_ = cfg_.preference_eval_dataset.empty() ? head(pref_, cfg_.eval_max_examples)
                                                      : load_preference_dataset(cfg_.preference_eval_dataset, enc);
    pref_stream_ = std::make_unique<DataStream>(int64_t(pref_.size()), bs, seed * 2 + 2);
  }
  if (!cfg_.multiple_choice_dataset.empty()) {  // read now, so a malformed file fails before training, not after
    MultipleChoiceOptions o;
    o.style = parse_prompt_style(cfg_.multiple_choice_prompt_style);
    o.limit = cfg_.multiple_choice_max_examples;
    o.vocab_size = model_->config().vocab_size;
    mc_items_ = load_multiple_choice(cfg_.multiple_choice_dataset, tokenizer_ ? &tokenizer_->tokenizer : nullptr, o);
  }
  if (comm_.size() > 1)  // hashing every dataset is start-up work a single process does not need
    check_same_on_every_rank(comm_, rank_fingerprint(cfg_, sft_, sft_eval_, pref_, pref_eval_), "the run");
  // max_steps = -1: num_train_epochs epochs of the strategy (train/epoch_plan.h); everything below (stage split,
  // schedule, warmup_ratio, progress bar) sees the resolved step count.
  epochs_ = plan_epochs(cfg_, sft_stream_ ? sft_stream_->batches_per_epoch() : 0,
                        pref_stream_ ? pref_stream_->batches_per_epoch() : 0);
  cfg_.max_steps = epochs_.max_steps;
  if (epochs_.first_stage_steps > 0) {
    cfg_.sequential_first_steps = epochs_.first_stage_steps;
    cfg_.sequential_first_epochs = 0;
  }

  StrategyConfig sc;
  sc.name = cfg_.strategy;
  sc.lambda = cfg_.lambda;
  sc.max_steps = cfg_.max_steps;
  sc.seed = seed * 2 + 3;
  sc.sft_first = cfg_.sequential_order == "sft_then_dpo";
  sc.first_stage_steps = cfg_.sequential_first_steps;
  if (cfg_.sequential_first_epochs > 0 && cfg_.strategy == "sequential") {
    // Epochs of the first stage's dataset, in optimizer steps (each step consumes accumulation x batch examples).
    const DataStream& first = *(sc.sft_first ? sft_stream_ : pref_stream_);
    const double steps = std::ceil(cfg_.sequential_first_epochs * double(first.batches_per_epoch()) /
                                   double(cfg_.gradient_accumulation_steps));
    TANDEM_CHECK(steps <= double(cfg_.max_steps), "sequential_first_epochs = ", cfg_.sequential_first_epochs, " is ",
                 steps, " steps, more than max_steps = ", cfg_.max_steps);
    sc.first_stage_steps = int64_t(steps);
  }
  sc.maxright_k = cfg_.maxright_k;
  const bool ideals_given = std::isfinite(cfg_.sft_ideal) && std::isfinite(cfg_.dpo_ideal);
  sc.ideal_mode = cfg_.maxright_ideal == "auto" ? (ideals_given ? "given" : "zero") : cfg_.maxright_ideal;
  ideal_mode_ = sc.ideal_mode;
  sc.sft_ideal = cfg_.sft_ideal;
  sc.dpo_ideal = cfg_.dpo_ideal;
  strategy_ = make_strategy(sc);

  optimizer_ = AdamW({cfg_.adam_beta1, cfg_.adam_beta2, cfg_.adam_epsilon, cfg_.weight_decay, cfg_.master_weights});
  // The weights' allgather goes in windows of the gradient buckets' size, for the reason buckets are capped.
  if (cfg_.zero_stage == 1)
    zero_ = std::make_unique<ShardedAdamW>(optimizer_.config(), comm_, int64_t(cfg_.ddp_bucket_cap_mb * (1 << 20)));
  params_ = model_->trainable_params();
  schedule_ = {cfg_.lr_scheduler_type, cfg_.learning_rate, cfg_.warmup(), cfg_.max_steps, cfg_.min_lr_ratio};
  schedule_.validate();

  init_data_parallel();
  if (main_rank()) {
    fs::create_directories(cfg_.output_dir);
    report_run_start({cfg_, *model_, params_, sft_, pref_, trunc_, sc.ideal_mode, comm_.size()});  // + run_info.json
  }
  metrics_path_ = cfg_.output_dir + "/metrics.jsonl";
  // Rank 0 cleans up interrupted saves and picks the folder; every rank then loads it (a shared filesystem, as
  // transformers assumes).
  const std::string resume = broadcast_string(comm_, main_rank() ? checkpoint_to_resume(cfg_) : "");
  // Reference log-probs come from the initial weights (before a resume replaces them), via the cache; with LoRA
  // from the base with adapters off.
  if (!pref_.empty() && pref_cfg_.needs_reference()) {
    model_->set_adapters_enabled(false);
    const int64_t bs_eval = cfg_.per_device_eval_batch_size;
    ref_ = reference_logps(*model_, pref_, trunc_, bs_eval, cfg_.reference_cache_dir, cfg_.prefix_sharing, nullptr,
                           comm_);
    ref_eval_ = reference_logps(*model_, pref_eval_, trunc_, bs_eval, cfg_.reference_cache_dir, cfg_.prefix_sharing,
                                nullptr, comm_);
    model_->set_adapters_enabled(true);
  }

  const auto targets = cfg_.report_targets();
  jsonl_ = std::find(targets.begin(), targets.end(), "jsonl") != targets.end();
  if (resume.empty()) {
    init_master_weights();
    if (zero_) {  // this rank's slice of the (possibly empty) state
      zero_->load_full(params_, optimizer_);
      optimizer_ = AdamW(optimizer_.config());
    }
    report_optimizer_sharding();
    if (main_rank() && jsonl_) truncate_file(metrics_path_);
    if (main_rank()) sinks_ = std::make_unique<MetricsSinks>(targets, cfg_.output_dir, 0);
    return;
  }
  const nlohmann::json s = zero_ ? load_checkpoint(resume, *model_, *zero_, params_)
                                 : load_checkpoint(resume, *model_, optimizer_, params_);
  report_optimizer_sharding();
  naming_json_errors(resume + "/trainer_state.json", [&] {  // a missing key or a wrong type names the file
    step_ = s.at("step").get<int64_t>();
    tokens_ = s.at("tokens").get<int64_t>();
    train_seconds_ = s.at("train_seconds").get<double>();
    sft_updates_ = s.at("sft_updates").get<int64_t>();
    dpo_updates_ = s.at("dpo_updates").get<int64_t>();
    model_->set_dropout_counter(s.value("dropout_counter", uint64_t(0)));
    sft_running_ = num_or_nan(s.at("sft_running"));
    dpo_running_ = num_or_nan(s.at("dpo_running"));
    if (sft_stream_) sft_stream_->load_state(s.at("sft_stream"));
    if (pref_stream_) pref_stream_->load_state(s.at("preference_stream"));
    strategy_->load_state(s.at("strategy"));
  });
  const int64_t saved_world = s.value("world_size", int64_t(1));
  if (saved_world != comm_.size() && main_rank()) {
    const nlohmann::json& saved = s.at("config");
    const int64_t saved_batch = saved_world * saved.value("per_device_train_batch_size", int64_t(0)) *
                                saved.value("gradient_accumulation_steps", int64_t(0));
    const int64_t batch = comm_.size() * cfg_.per_device_train_batch_size * cfg_.gradient_accumulation_steps;
    std::fprintf(stderr, "tandem: resuming a run saved by %lld rank(s) on %d: the data streams' positions are global, "
                 "so each rank takes its new slice of the same global batches%s%s\n", (long long)saved_world,
                 comm_.size(), zero_ ? "; each rank read its slice of the optimizer state" : "",
                 saved_batch == batch ? "" : "; warning: the global batch (ranks x per_device_train_batch_size x "
                                             "gradient_accumulation_steps) differs from the saved run's, so the "
                                             "trajectory will differ from an uninterrupted run's");
  }
  if (!main_rank()) return;  // the log and its sinks are rank 0's
  // Keep the log up to the checkpoint, plus the lines a full disk kept out of it; the resumed run appends the
  // steps after it.
  std::string kept, line;
  std::ifstream in(metrics_path_);
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("step", int64_t(0)) <= step_) kept += line + "\n";
  }
  TANDEM_CHECK(!in.bad(), "cannot read ", metrics_path_, ": ", std::strerror(errno));
  for (const auto& unwritten : s.value("unwritten_metrics", nlohmann::json::array()))
    if (kept.find(unwritten.dump() + "\n") == std::string::npos) kept += unwritten.dump() + "\n";  // once only
  if (jsonl_) write_file_atomic(metrics_path_, kept);
  sinks_ = std::make_unique<MetricsSinks>(targets, cfg_.output_dir, step_);
}

Batch Trainer::sft_batch(const std::vector<int64_t>& idx, const std::vector<SftExample>& data) const {
  return cfg_.packing ? collate_sft_packed(pick(data, idx), trunc_) : collate_sft(pick(data, idx), trunc_);
}

Batch Trainer::preference_batch(const std::vector<int64_t>& idx, const std::vector<PreferenceExample>& data) const {
  return cfg_.prefix_sharing ? collate_preference_shared(pick(data, idx), trunc_)
                             : collate_preference(pick(data, idx), trunc_);
}

std::vector<int64_t> Trainer::mine(const std::vector<int64_t>& global) const {
  return rank_slice(global, comm_.rank(), comm_.size());
}

// The mean NLL over the scored tokens of the whole global batch: each rank's gradient is scaled by the global token
// count, so the sum over ranks is the gradient one process computes on the global batch.
double Trainer::sft_loss_of(const std::vector<int64_t>& global, const std::vector<SftExample>& data, bool train,
                            double weight, int64_t* tokens) {
  const Batch batch = sft_batch(mine(global), data);
  const int64_t scored = sum_over_ranks(comm_, batch.scored_tokens());
  TANDEM_CHECK(scored > 0, "SFT batch has no completion tokens (max_length too small for the prompts?)");
  if (tokens) *tokens += real_tokens(batch);
  model_->set_training(train);  // LoRA dropout only in training forwards
  const SequenceLogprobs out =
      train ? model_->forward_backward(batch,
                                       std::vector<float>(batch.num_sequences(), float(-weight / double(scored))))
            : model_->forward(batch);
  model_->set_training(false);
  double nll = 0;
  for (double l : out.logp) nll -= l;
  if (train && nan_fault_at(comm_.rank(), step_ + 1)) nll = EvalResult::kNaN;
  local_finite_ = local_finite_ && std::isfinite(nll);
  return sum_over_ranks(comm_, nll) / double(scored);
}

// The loss of the whole global batch, on every rank: the ranks' policy log-probs are gathered (a few numbers per
// pair), so batch-level terms are exact, and each rank back-propagates its own pairs' share of the gradient.
PreferenceLoss Trainer::pref_loss_of(const std::vector<int64_t>& global, const std::vector<PreferenceExample>& data,
                                     const PairLogps& ref, bool train, double weight, PairLogps* policy,
                                     int64_t* tokens) {
  const Batch batch = preference_batch(mine(global), data);
  if (tokens) *tokens += real_tokens(batch);
  model_->set_training(train);
  PairLogps local = split_pairs(model_->forward(batch));
  if (train && nan_fault_at(comm_.rank(), step_ + 1)) local.chosen.assign(local.size(), EvalResult::kNaN);
  local_finite_ = local_finite_ && all_finite(local);
  int64_t offset = 0;
  const PairLogps p = gather_pairs(comm_, local, &offset);
  const PreferenceLoss loss =
      preference_loss(p, pref_cfg_.needs_reference() ? pick_pairs(ref, global) : p, pref_cfg_);
  if (train && std::isfinite(loss.loss)) {
    std::vector<float> dlogp;
    const size_t begin = size_t(offset), end = begin + local.size();
    for (size_t i = begin; i < end; ++i) dlogp.push_back(float(weight * loss.d_chosen[i]));
    for (size_t i = begin; i < end; ++i) dlogp.push_back(float(weight * loss.d_rejected[i]));
    model_->backward(dlogp);
  }
  model_->set_training(false);
  if (policy) *policy = p;
  return loss;
}

double Trainer::probe(Objective o) {
  if (o == Objective::kSft) return sft_loss_of(sft_stream_->peek(), sft_, false, 0, nullptr);
  return pref_loss_of(pref_stream_->peek(), pref_, ref_, false, 0, nullptr, nullptr).loss;
}

// Every rank gets here together (the values are sums over ranks), so every rank stops with the same message.
void Trainer::diverged(const std::string& what, double value) {
  std::string where;
  if (comm_.size() > 1) {
    const std::string ranks = ranks_where_not(comm_, local_finite_);
    where = ranks.empty() ? " (summed over ranks; each rank's own losses were finite)"
                          : " (non-finite on rank " + ranks + ")";
  }
  const std::string stop = "step " + std::to_string(step_ + 1) + ": " + what + " is " +
                           (std::isnan(value) ? "nan" : std::to_string(value)) + where + "; training stopped";
  // Parameters are still those before this step's (unapplied) update; only finite ones are worth keeping.
  for (const ParamRef& p : params_)
    if (!std::isfinite(backend_of(*p.value).sum_squares(*p.value)))
      throw CollectiveError(stop + ". Parameter " + p.value->name + " is not finite, so nothing was saved; resume "
                            "from the last checkpoint saved before.");
  const std::string dir = save_before_stopping(stop, /*sync_log=*/true);
  throw CollectiveError(stop + ". The last good state (step " + std::to_string(step_) + ") is saved in " + dir +
                        ". Lower learning_rate or max_grad_norm and resume from it.");
}

// A log with a hole would pass for a complete one, so a metrics line that cannot be written (a full disk) stops
// the run. The state is saved first, holding the lines the log lacks, so a resume once there is room loses nothing.
void Trainer::stop_on_unwritable_log(const std::string& why, const nlohmann::json& line) {
  unwritten_metrics_.push_back(line);
  const std::string stop = "training stopped at step " + std::to_string(step_) + ": " + why;
  if (step_ == 0) fail(stop);  // nothing trained yet, nothing to save
  // Only rank 0 writes the log, and a save takes every rank: the others are stopped (main.cpp) and the run resumes
  // from the last checkpoint, which recreates the log's lines after it.
  if (comm_.size() > 1) fail(stop, ". Make room and resume from the last checkpoint (resume_from_checkpoint = latest).");
  const std::string dir = save_before_stopping(stop, /*sync_log=*/false);
  fail(stop, ". The state of step ", step_, " is saved in ", dir,
       ", with the log lines that were not written; make room and resume from it.");
}

// Saves checkpoint-<step> for a run about to stop with `stop`; if that fails too, the error says both.
std::string Trainer::save_before_stopping(const std::string& stop, bool sync_log) {
  const std::string dir = checkpoint_dir();
  try {
    save(dir, sync_log);
  } catch (const Error& e) {
    fail(stop, ". Saving the state of step ", step_, " failed too: ", e.what(),
         ". Resume from the latest complete checkpoint.");
  }
  return dir;
}

void Trainer::log_line(const nlohmann::json& j) {
  if (!main_rank()) return;
  try {
    if (jsonl_) append_to_file(metrics_path_, j.dump() + "\n");
    sinks_->write(j);
  } catch (const Error& e) {
    stop_on_unwritable_log(e.what(), j);
  }
}

// transformers' IntervalStrategy: "steps" every `every` steps, "epoch" where an epoch ends, "no" never.
bool Trainer::due(const std::string& strategy, int64_t every) const {
  if (strategy == "steps") return every > 0 && step_ % every == 0;
  if (strategy == "epoch") return epochs_.ends_epoch(step_);
  return false;
}

Trainer::StepRecord Trainer::run_step() {
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = thread_cpu_seconds();
  die_if_fault_at(comm_.rank(), step_ + 1);
  StepRecord r;
  local_finite_ = true;
  r.plan = strategy_->plan(step_, [this](Objective o) { return probe(o); });
  model_->zero_grads();
  const int64_t accum = cfg_.gradient_accumulation_steps;
  const double scale = 1.0 / double(accum);
  for (int64_t a = 0; a < accum; ++a) {
    // Gradients are summed over ranks once per step, during its last backward pass (Mix: both objectives'
    // gradients are in by then, so one reduction serves both).
    const bool last = a == accum - 1;
    if (r.plan.w_sft > 0) {
      reduce_during_backward(last && r.plan.w_dpo == 0);
      const double f = sft_loss_of(sft_stream_->next(), sft_, true, r.plan.w_sft * scale, &r.tokens);
      r.f_sft = (a == 0 ? 0.0 : r.f_sft) + f * scale;
    }
    if (r.plan.w_dpo > 0) {
      reduce_during_backward(last);
      const PreferenceLoss l =
          pref_loss_of(pref_stream_->next(), pref_, ref_, true, r.plan.w_dpo * scale, &r.policy, &r.tokens);
      r.f_dpo = (a == 0 ? 0.0 : r.f_dpo) + l.loss * scale;
      r.pref = l;  // metrics of the last micro-batch
    }
  }
  reduce_during_backward(false);
  reduce_gradients(r);
  r.tokens = sum_over_ranks(comm_, r.tokens);
  if (r.plan.w_sft > 0 && !std::isfinite(r.f_sft)) diverged("the SFT loss", r.f_sft);
  if (r.plan.w_dpo > 0 && !std::isfinite(r.f_dpo)) diverged("the " + cfg_.loss_type + " loss", r.f_dpo);
  r.grad_norm = grad_global_norm(params_);
  if (!std::isfinite(r.grad_norm)) diverged("the gradient norm", r.grad_norm);
  r.lr = schedule_.at(step_);
  const double clip = clip_coefficient(r.grad_norm, cfg_.max_grad_norm);
  zero_ ? zero_->step(params_, r.lr, clip) : optimizer_.step(params_, r.lr, clip);
  strategy_->observe(step_, r.f_sft, r.f_dpo);

  ++step_;
  sft_updates_ += r.plan.w_sft > 0;
  dpo_updates_ += r.plan.w_dpo > 0;
  tokens_ += r.tokens;
  sft_running_ = ema(sft_running_, r.f_sft);
  dpo_running_ = ema(dpo_running_, r.f_dpo);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu_seconds = thread_cpu_seconds() - cpu0;
  train_seconds_ += r.seconds;
  return r;
}

void Trainer::reduce_during_backward(bool on) {
  if (!reducer_) return;
  if (!on) return model_->set_backward_progress(nullptr);
  const int64_t layers = model_->config().num_hidden_layers;
  model_->set_backward_progress([this, layers](int64_t event) { reducer_->on_event(event_order(event, layers)); });
}

void Trainer::reduce_gradients(StepRecord& r) {
  if (!reducer_) return;
  reducer_->finish();
  r.comm_seconds = reducer_->seconds();
  r.comm_wait_seconds = reducer_->wait_seconds();
}

void Trainer::report_optimizer_sharding() const {
  if (zero_ && main_rank())
    std::fprintf(stderr, "  zero_stage 1: AdamW state %.1f MiB per rank instead of %.1f MiB (%d ranks)\n",
                 double(zero_->state_bytes()) / (1 << 20), double(zero_->full_state_bytes()) / (1 << 20),
                 comm_.size());
}

void Trainer::init_data_parallel() {
  if (comm_.size() == 1) return;
  const ModelWeights& w = model_->weights();
  const std::vector<GradSlot> slots = gradient_slots(params_, w.lm_head.empty() ? nullptr : &w.lm_head,
                                                     model_->config().num_hidden_layers);
  reducer_ = std::make_unique<GradReducer>(comm_, slots, int64_t(cfg_.ddp_bucket_cap_mb * 1024 * 1024));
}

void Trainer::log_step(const StepRecord& r) {
  const char* objective = r.plan.w_sft > 0 && r.plan.w_dpo > 0 ? "mix" : r.plan.w_sft > 0 ? "sft" : "dpo";
  nlohmann::json j = {{"step", step_},
                      {"epoch", epochs_.epoch_at(step_)},  // as transformers logs it: a float
                      {"objective", objective},
                      {"f_sft", num(r.f_sft)},
                      {"f_dpo", num(r.f_dpo)},
                      {"f_sft_running", num(sft_running_)},
                      {"f_dpo_running", num(dpo_running_)},
                      {"lr", r.lr},
                      {"grad_norm", r.grad_norm},
                      {"tokens", r.tokens},
                      {"step_seconds", r.seconds},
                      {"step_cpu_seconds", r.cpu_seconds},
                      {"train_seconds", train_seconds_},
                      {"peak_memory_mib", peak_memory_mib()}};
  if (reducer_) {
    j["world_size"] = comm_.size();
    j["allreduce_bytes"] = reducer_->bytes();
    j["allreduce_buckets"] = reducer_->buckets();
    j["allreduce_buckets_overlapped"] = reducer_->started_during_backward();  // started before the backward ended
    j["comm_seconds"] = r.comm_seconds;            // in reduction calls during the step
    j["comm_wait_seconds"] = r.comm_wait_seconds;  // of which after the backward: what overlap did not hide
  }
  if (sft_stream_) j["epoch_sft"] = sft_stream_->epochs_done();
  if (pref_stream_) j["epoch_dpo"] = pref_stream_->epochs_done();
  if (r.plan.w_dpo > 0) {
    double c = 0, rj = 0;
    for (size_t i = 0; i < r.policy.size(); ++i) {
      c += r.policy.chosen[i] / double(r.policy.size());
      rj += r.policy.rejected[i] / double(r.policy.size());
    }
    j["reward_accuracy"] = r.pref.reward_accuracy;
    j["reward_margin"] = r.pref.reward_margin;
    j["chosen_logp"] = c;
    j["rejected_logp"] = rj;
  }
  j.update(strategy_->log_fields());
  log_line(j);
}

void Trainer::log_eval(const EvalResult& e) {
  nlohmann::json j = e.to_json();
  j["step"] = step_;
  j["epoch"] = epochs_.epoch_at(step_);
  j["eval"] = true;
  j["train_seconds"] = train_seconds_;
  log_line(j);
}

EvalResult Trainer::evaluate() {
  EvalResult e;
  const int64_t bs = cfg_.per_device_eval_batch_size;
  // Each rank evaluates a contiguous share of each set; the sums (SFT) and the policy log-probs (preference) are
  // gathered, so every rank holds the same values.
  if (!sft_eval_.empty()) {
    double nll = 0;
    int64_t scored = 0;
    const auto [begin, end] = even_range(int64_t(sft_eval_.size()), comm_.rank(), comm_.size());
    for (int64_t s = begin; s < end; s += bs) {
      const Batch b = sft_batch(range(s, std::min<int64_t>(s + bs, end)), sft_eval_);
      const SequenceLogprobs out = model_->forward(b);
      for (size_t i = 0; i < out.logp.size(); ++i) {
        nll -= out.logp[i];
        scored += out.tokens[i];
      }
    }
    nll = sum_over_ranks(comm_, nll);
    scored = sum_over_ranks(comm_, scored);
    e.f_sft = nll / double(std::max<int64_t>(scored, 1));
  }
  if (!pref_eval_.empty()) {
    e.f_dpo = e.reward_accuracy = e.reward_margin = 0;
    const double n = double(pref_eval_.size());
    const PairLogps policy = sharded_pair_logps(comm_, *model_, pref_eval_, trunc_, bs, cfg_.prefix_sharing);
    for (int64_t s = 0; s < int64_t(pref_eval_.size()); s += bs) {
      const auto idx = range(s, std::min<int64_t>(s + bs, pref_eval_.size()));
      const PairLogps p = pick_pairs(policy, idx);
      const PreferenceLoss l = preference_loss(p, pref_cfg_.needs_reference() ? pick_pairs(ref_eval_, idx) : p,
                                               pref_cfg_);
      const double w = double(idx.size()) / n;  // batch means -> dataset mean
      e.f_dpo += w * l.loss;
      e.reward_accuracy += w * l.reward_accuracy;
      e.reward_margin += w * l.reward_margin;
    }
  }
  return e;
}

nlohmann::json Trainer::state() const {
  nlohmann::json s = {{"step", step_},
                      {"tokens", tokens_},
                      {"train_seconds", train_seconds_},
                      {"sft_updates", sft_updates_},
                      {"dpo_updates", dpo_updates_},
                      {"sft_running", num(sft_running_)},
                      {"dpo_running", num(dpo_running_)},
                      {"dropout_counter", model_->dropout_counter()},
                      {"strategy", strategy_->state()},
                      {"world_size", comm_.size()},
                      {"config", cfg_.to_json()}};
  if (sft_stream_) s["sft_stream"] = sft_stream_->state();
  if (pref_stream_) s["preference_stream"] = pref_stream_->state();
  if (!unwritten_metrics_.empty()) s["unwritten_metrics"] = unwritten_metrics_;
  return s;
}

std::string Trainer::checkpoint_dir() const { return cfg_.output_dir + "/checkpoint-" + std::to_string(step_); }

// Every rank calls it; rank 0 writes. The replicas are checked first, so a checkpoint never records weights that
// only one rank has; the others wait until the checkpoint is complete.
void Trainer::save(const std::string& dir, bool sync_log) {
  if (comm_.size() > 1) check_replicas_agree(comm_, params_hash(params_), step_);  // a pass over the weights
  AdamW whole = zero_ ? zero_->gather_full(params_) : AdamW();  // the checkpoint's format holds the whole state
  AdamW& optimizer = zero_ ? whole : optimizer_;
  if (main_rank()) {
    // The log up to this step reaches the disk before the checkpoint does, so a resume after a power loss finds it.
    if (sync_log && fs::exists(metrics_path_)) sync_file(metrics_path_);
    save_checkpoint(dir, *model_, optimizer, params_, state(), tokenizer_ ? tokenizer_->dir : "");
    if (cfg_.save_total_limit > 0) remove_old_checkpoints(cfg_.output_dir, cfg_.save_total_limit, dir);
  }
  comm_.barrier();
}

EvalResult Trainer::train(int64_t until) {
  const int64_t stop = until > 0 ? std::min(until, cfg_.max_steps) : cfg_.max_steps;
  if (step_ == 0) log_eval(evaluate());  // the trajectory's starting point
  ProgressBar bar(cfg_.strategy, cfg_.max_steps);
  const bool show_progress = cfg_.progress && main_rank();
  while (step_ < stop) {
    const StepRecord r = run_step();
    if (due(cfg_.logging_strategy, cfg_.logging_steps) || step_ == cfg_.max_steps) log_step(r);
    const bool last = step_ == cfg_.max_steps;  // the final evaluation and checkpoint follow the loop
    if (!last && due(cfg_.resolved_eval_strategy(), cfg_.resolved_eval_steps())) log_eval(evaluate());
    if (!last && due(cfg_.resolved_save_strategy(), cfg_.save_steps)) save(checkpoint_dir());
    if (show_progress) {
      std::string status;
      char part[48];
      for (const auto& [name, value] : {std::pair{"sft", sft_running_}, std::pair{"dpo", dpo_running_}})
        if (std::isfinite(value)) {
          std::snprintf(part, sizeof part, "%s%s %.4f", status.empty() ? "" : " ", name, value);
          status += part;
        }
      bar.update(step_, tokens_, status);
    }
  }
  if (step_ < cfg_.max_steps) return evaluate();
  const EvalResult final_eval = evaluate();
  log_eval(final_eval);
  if (cfg_.save_final_checkpoint) save(checkpoint_dir());
  if (!main_rank()) return final_eval;  // the merged model, the end-of-run evaluations and summary.json are rank 0's
  if (cfg_.save_merged_model && model_->has_lora()) {
    DecoderModel merged(model_->config());  // merged in f32, saved in the run's dtype
    copy_values(merged.weights(), model_->weights());
    merge_lora(merged.weights(), model_->lora());
    save_model(merged, cfg_.output_dir + "/merged", model_->bf16());
    if (tokenizer_) write_tokenizer_files(tokenizer_->dir, cfg_.output_dir + "/merged");  // usable alone
  }
  nlohmann::json summary = {{"final", final_eval.to_json()},
                            {"steps", step_},
                            {"sft_updates", sft_updates_},
                            {"dpo_updates", dpo_updates_},
                            {"tokens", tokens_},
                            {"train_seconds", train_seconds_},
                            {"seconds_per_step", train_seconds_ / double(std::max<int64_t>(step_, 1))},
                            {"peak_memory_mib", peak_memory_mib()},
                            {"strategy", cfg_.strategy},
                            {"lambda", cfg_.lambda},
                            {"seed", cfg_.seed},
                            {"eval_data", {{"sft", eval_data(cfg_.sft_dataset, cfg_.sft_eval_dataset)},
                                           {"preference", eval_data(cfg_.preference_dataset,
                                                                    cfg_.preference_eval_dataset)}}}};
  if (comm_.size() > 1 || zero_)
    summary["data_parallel"] = {
        {"world_size", comm_.size()},
        {"zero_stage", cfg_.zero_stage},
        {"optimizer_state_bytes_per_rank", zero_ ? zero_->state_bytes() : optimizer_.state_block().bytes()},
        {"optimizer_state_bytes_unsharded", zero_ ? zero_->full_state_bytes() : optimizer_.state_block().bytes()}};
  if (cfg_.strategy == "maxright") summary["maxright_ideal"] = maxright_ideal(cfg_, ideal_mode_, strategy_->state());
  if (!mc_items_.empty())  // summary.json only: metrics.jsonl readers expect step and eval lines
    summary["multiple_choice"] =
        score_multiple_choice(*model_, mc_items_, cfg_.per_device_eval_batch_size)
            .summary_json(cfg_.multiple_choice_dataset);
  const JudgeReport judged = run_judges(*model_, sft_eval_, pref_eval_, judge_options(cfg_), tokenizer_.get());
  summary["judge"] = judged.judge;
  summary["win_rate"] = judged.win_rate;
  write_file_atomic(cfg_.output_dir + "/summary.json", summary.dump(2) + "\n");
  return final_eval;
}

}  // namespace tandem
