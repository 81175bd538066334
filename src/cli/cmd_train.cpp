// `tandem train CONFIG.toml [key=value ...]` (tandem eval is cli/cmd_eval.cpp).
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/check.h"
#include "dist/comm.h"
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
  if (world().rank() == 0) std::printf("%s\n", e.to_json().dump().c_str());  // once, not once per rank
  return 0;
}

}  // namespace tandem
