// `tandem merge-lora BASE_DIR ADAPTER_DIR OUT_DIR [--bf16]`: base + (alpha / r) B A, saved as a plain Hugging Face
// model folder that needs no PEFT to load, with the tokenizer files when the adapter or base folder has them.
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "core/check.h"
#include "io/hf_checkpoint.h"
#include "model/lora.h"
#include "train/tokenizer_files.h"

namespace tandem {

int cmd_merge_lora(int argc, char** argv) {
  TANDEM_CHECK(argc == 3 || (argc == 4 && std::string(argv[3]) == "--bf16"),
               "usage: tandem merge-lora BASE_DIR ADAPTER_DIR OUT_DIR [--bf16]");
  auto model = load_model(argv[0]);
  const LoraWeights lora = load_peft_adapter(argv[1], model->config());
  merge_lora(model->weights(), lora);
  save_model(*model, argv[2], argc == 4);
  // The tokenizer goes along (the adapter checkpoint's, else the base's), so the merged folder works alone.
  const std::string tokenizer_dir = std::filesystem::exists(std::string(argv[1]) + "/tokenizer.json") ? argv[1] : argv[0];
  if (std::filesystem::exists(tokenizer_dir + "/tokenizer.json")) write_tokenizer_files(tokenizer_dir, argv[2]);
  std::printf("merged %s into %s -> %s\n", argv[1], argv[0], argv[2]);
  return 0;
}

}  // namespace tandem
