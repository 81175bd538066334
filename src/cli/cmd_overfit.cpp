// `tandem overfit`: the engine end to end on something anyone can check by eye. A tiny random Llama
// (byte-level vocabulary) learns one sentence by heart; the log shows the loss falling and the end shows
// how many next bytes it predicts exactly.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/progress.h"
#include "io/checked_write.h"
#include "io/hf_checkpoint.h"
#include "optim/schedule.h"
#include "train/sft_step.h"

namespace tandem {

namespace {
const char* kSentence =
    "Tandem trains supervised fine-tuning and preference learning together, so a model keeps what it learned first.";

ModelConfig byte_llama() {
  ModelConfig c;
  c.vocab_size = 256;
  c.hidden_size = 64;
  c.intermediate_size = 172;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 256;
  return c;
}
}  // namespace

int cmd_overfit(int argc, char** argv) {
  const Args args(argc, argv, {"out", "steps", "lr", "seed"});
  const std::string out = args.str("out", "runs/overfit");
  const int64_t steps = args.integer("steps", 150);
  const LrSchedule schedule{"cosine", args.real("lr", 3e-3), 10, steps, 0.1};
  schedule.validate();
  std::filesystem::create_directories(out);

  DecoderModel model(byte_llama());
  Rng rng(static_cast<uint64_t>(args.integer("seed", 0)));
  init_random(model.weights(), rng);
  const std::string text = kSentence;
  Batch batch(1, int64_t(text.size()));
  for (size_t i = 0; i < text.size(); ++i) batch.tokens[i] = static_cast<uint8_t>(text[i]);
  std::fill(batch.loss_mask.begin() + 1, batch.loss_mask.end(), 1);

  AdamW optimizer({0.9, 0.95, 1e-8, 0.0});
  const std::vector<ParamRef> params = model.trainable_params();
  const std::string log = out + "/metrics.jsonl";
  truncate_file(log);
  ProgressBar bar("overfit", steps);
  const auto start = std::chrono::steady_clock::now();
  StepStats s;
  for (int64_t step = 0; step < steps; ++step) {
    const double lr = schedule.at(step);
    s = sft_train_step(model, batch, optimizer, params, lr, 1.0);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    append_to_file(log, nlohmann::json{{"step", step}, {"objective", "sft"}, {"loss", s.loss}, {"grad_norm", s.grad_norm},
                                       {"lr", lr}, {"tokens", s.tokens}, {"seconds", secs}}
                                .dump() +
                            "\n");
    char status[64];
    std::snprintf(status, sizeof status, "loss %.4f", s.loss);
    bar.update(step + 1, (step + 1) * s.tokens, status);
  }

  // Teacher-forced recall: the argmax next byte at every position.
  const std::vector<float> logits = model.logits(batch);
  std::string recalled(1, text[0]);
  int64_t correct = 0;
  for (size_t t = 0; t + 1 < text.size(); ++t) {
    const float* row = logits.data() + t * 256;
    const int best = int(std::max_element(row, row + 256) - row);
    recalled += char(best);
    correct += best == static_cast<uint8_t>(text[t + 1]);
  }
  save_model(model, out + "/model");
  std::printf("final loss %.4f; next-byte accuracy %lld/%zu\nrecalled: %s\nwrote %s/metrics.jsonl and %s/model\n",
              s.loss, (long long)correct, text.size() - 1, recalled.c_str(), out.c_str(), out.c_str());
  return 0;
}

}  // namespace tandem
