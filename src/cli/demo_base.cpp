#include "cli/demo_base.h"

#include <cstdio>
#include <filesystem>

#include "train/checkpoint_folders.h"
#include "train/tokenizer_files.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace tandem {

namespace fs = std::filesystem;

std::string cached_pretrained_base(const std::string& pretrain_toml, const std::string& base,
                                   const std::string& tokenizer_dir) {
  if (fs::exists(base + "/model.safetensors")) {
    std::printf("base model: %s (cached)\n", base.c_str());
    return base;
  }
  std::printf("pretraining the base model (once; cached in %s)\n", base.c_str());
  const std::string work = base + ".pretrain";
  TrainConfig cfg = TrainConfig::from_toml_file(pretrain_toml, {"output_dir=\"" + work + "\""});
  Trainer trainer(cfg);
  trainer.train();
  const std::string last = latest_checkpoint(work);
  const std::string tmp = base + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  fs::copy_file(last + "/config.json", tmp + "/config.json");
  fs::copy_file(last + "/model.safetensors", tmp + "/model.safetensors");
  if (!tokenizer_dir.empty()) write_tokenizer_files(tokenizer_dir, tmp);
  fs::rename(tmp, base);  // appears complete or not at all
  fs::remove_all(work);
  return base;
}

}  // namespace tandem
