#include "data/tokenizer_dir.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"

namespace tandem {

std::unique_ptr<TokenizerDir> load_tokenizer_dir(const std::string& dir, bool use_chat_template) {
  namespace fs = std::filesystem;
  if (!fs::exists(dir + "/tokenizer.json")) return nullptr;
  auto t = std::make_unique<TokenizerDir>(TokenizerDir{BpeTokenizer::from_file(dir + "/tokenizer.json"), {}, -1});
  const std::string cfg_path = dir + "/tokenizer_config.json";
  if (fs::exists(cfg_path)) {
    const auto cfg = nlohmann::json::parse(read_file(cfg_path), nullptr, false);
    if (cfg.is_object()) {
      std::string eos;
      if (cfg.contains("eos_token") && cfg["eos_token"].is_string()) eos = cfg["eos_token"].get<std::string>();
      if (cfg.contains("eos_token") && cfg["eos_token"].is_object()) eos = cfg["eos_token"].value("content", "");
      if (!eos.empty()) t->eos_id = t->tokenizer.token_id(eos);
      if (use_chat_template && cfg.contains("chat_template") && cfg["chat_template"].is_string())
        t->chat_template = ChatTemplate::from_tokenizer_config(cfg_path);
    }
  }
  return t;
}

}  // namespace tandem
