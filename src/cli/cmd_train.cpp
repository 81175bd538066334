// `tandem train CONFIG.toml [key=value ...]` and `tandem eval CONFIG.toml [--checkpoint DIR] [key=value ...]`.
// eval scores the checkpoint's weights against the reference log-probs of the config's model, i.e. the model
// the run started from, so f_DPO means the same as during training.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/check.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace tandem {

namespace {
TrainConfig config_from_args(int argc, char** argv, const char* usage) {
  TANDEM_CHECK(argc >= 1, usage);
  std::vector<std::string> overrides(argv + 1, argv + argc);
  return TrainConfig::from_toml_file(argv[0], overrides);
}
}  // namespace

int cmd_train(int argc, char** argv) {
  Trainer trainer(config_from_args(argc, argv, "usage: tandem train CONFIG.toml [key=value ...]"));
  const EvalResult e = trainer.train();
  std::printf("%s\n", e.to_json().dump().c_str());
  return 0;
}

int cmd_eval(int argc, char** argv) {
  // --checkpoint DIR may appear anywhere after CONFIG.toml; everything else is a key=value override.
  std::string checkpoint;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--checkpoint") {
      TANDEM_CHECK(i + 1 < argc, "--checkpoint needs a folder");
      checkpoint = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  TrainConfig cfg = config_from_args(int(rest.size()), rest.data(),
                                     "usage: tandem eval CONFIG.toml [--checkpoint DIR] [key=value ...]");
  cfg.output_dir += "/eval";  // evaluation never touches the training run's log
  Trainer trainer(cfg);  // reference log-probs come from the config's (initial) model
  if (!checkpoint.empty()) load_model_state(checkpoint, trainer.model());
  std::printf("%s\n", trainer.evaluate().to_json().dump().c_str());
  return 0;
}

}  // namespace tandem
