#include "train/tokenizer_files.h"

#include <filesystem>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "tokenizer/bpe_tokenizer.h"

namespace tandem {

namespace fs = std::filesystem;

namespace {
// A special-token entry of tokenizer_config.json: a string, {"content": ...}, or absent/null ("").
std::string token_text(const nlohmann::json& cfg, const char* key, const std::string& path) {
  if (!cfg.contains(key) || cfg[key].is_null()) return "";
  if (cfg[key].is_object()) return json_get<std::string>(cfg[key], "content", path + ": " + key);
  return json_get<std::string>(cfg, key, path);
}
}  // namespace

nlohmann::json generation_config_from_tokenizer(const std::string& tokenizer_dir) {
  nlohmann::json out = nlohmann::json::object();
  const std::string cfg_path = tokenizer_dir + "/tokenizer_config.json";
  if (!fs::exists(cfg_path)) return out;
  const nlohmann::json cfg = read_json_file(cfg_path);
  TANDEM_CHECK(cfg.is_object(), cfg_path, ": expected a JSON object, got ", json_excerpt(cfg));
  const BpeTokenizer tok = BpeTokenizer::from_file(tokenizer_dir + "/tokenizer.json");
  for (const char* key : {"bos_token", "eos_token", "pad_token"}) {
    const std::string text = token_text(cfg, key, cfg_path);
    if (text.empty()) continue;
    const int32_t id = tok.token_id(text);
    TANDEM_CHECK(id >= 0, cfg_path, ": ", key, " ", json_excerpt(nlohmann::json(text)),
                 " is not a token of tokenizer.json");
    out[std::string(key) + "_id"] = id;
  }
  return out;
}

void write_tokenizer_files(const std::string& tokenizer_dir, const std::string& out_dir) {
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string from = tokenizer_dir + "/" + name;
    if (fs::exists(from)) write_file_atomic(out_dir + "/" + name, read_file(from));
  }
  const std::string own = tokenizer_dir + "/generation_config.json";
  write_file_atomic(out_dir + "/generation_config.json",
                    fs::exists(own) ? read_file(own) : generation_config_from_tokenizer(tokenizer_dir).dump(2) + "\n");
}

}  // namespace tandem
