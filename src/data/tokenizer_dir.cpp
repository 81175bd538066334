#include "data/tokenizer_dir.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/json_file.h"

namespace tandem {

namespace {
// tokenizer_config.json's eos_token: a string, {"content": ...} (an AddedToken), or absent/null ("").
std::string eos_token(const nlohmann::json& cfg, const std::string& path) {
  if (!cfg.contains("eos_token") || cfg["eos_token"].is_null()) return "";
  const auto& eos = cfg["eos_token"];
  if (eos.is_object()) return json_get<std::string>(eos, "content", path + ": eos_token");
  return json_get<std::string>(cfg, "eos_token", path);
}
}  // namespace

std::unique_ptr<TokenizerDir> load_tokenizer_dir(const std::string& dir, bool use_chat_template) {
  namespace fs = std::filesystem;
  if (!fs::exists(dir + "/tokenizer.json")) return nullptr;
  auto t = std::make_unique<TokenizerDir>(TokenizerDir{BpeTokenizer::from_file(dir + "/tokenizer.json"), {}, -1, dir});
  // A missing tokenizer_config.json means no chat template and no EOS; a broken one is an error, not the same.
  const std::string cfg_path = dir + "/tokenizer_config.json";
  if (!fs::exists(cfg_path)) return t;
  const nlohmann::json cfg = read_json_file(cfg_path);
  TANDEM_CHECK(cfg.is_object(), cfg_path, ": expected a JSON object, got ", json_excerpt(cfg));
  const std::string eos = eos_token(cfg, cfg_path);
  if (!eos.empty()) {
    t->eos_id = t->tokenizer.token_id(eos);
    TANDEM_CHECK(t->eos_id >= 0, cfg_path, ": eos_token ", json_excerpt(nlohmann::json(eos)),
                 " is not a token of tokenizer.json");
  }
  // A template string, a list of named templates, or chat_template.jinja beside the config (as transformers reads).
  if (use_chat_template && ((cfg.contains("chat_template") && !cfg["chat_template"].is_null()) ||
                            fs::exists(dir + "/chat_template.jinja")))
    t->chat_template = ChatTemplate::from_tokenizer_config(cfg_path);
  return t;
}

std::vector<int32_t> reply_stop_tokens(const TokenizerDir& t) {
  std::vector<int32_t> stops;
  auto add = [&](int32_t id) {
    if (id >= 0 && std::find(stops.begin(), stops.end(), id) == stops.end()) stops.push_back(id);
  };
  add(t.eos_id);
  const std::string gen = t.dir + "/generation_config.json";
  if (std::filesystem::exists(gen)) {
    const nlohmann::json g = read_json_file(gen);
    if (g.is_object() && g.contains("eos_token_id")) {  // an id or a list of ids
      const nlohmann::json& e = g["eos_token_id"];
      for (const auto& id : e.is_array() ? e : nlohmann::json::array({e}))
        if (id.is_number_integer()) add(id.get<int32_t>());
    }
  }
  // End-of-turn markers of the chat formats: a reply ends there even when EOS is another token.
  for (const char* m : {"<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|end_of_text|>", "<end_of_turn>"})
    add(t.tokenizer.token_id(m));
  return stops;
}

std::unique_ptr<TokenizerDir> load_run_tokenizer(const std::string& tokenizer_name_or_path,
                                                 const std::string& model_name_or_path, bool use_chat_template) {
  const std::string& dir = tokenizer_name_or_path.empty() ? model_name_or_path : tokenizer_name_or_path;
  if (dir.empty()) return nullptr;
  auto t = load_tokenizer_dir(dir, use_chat_template);
  TANDEM_CHECK(t || tokenizer_name_or_path.empty(), "tokenizer_name_or_path: ", dir, " has no tokenizer.json");
  return t;
}

}  // namespace tandem
