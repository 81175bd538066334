#include "tokenizer/tokenizer_folder.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/atomic_file.h"

namespace tandem {

const char* const kChatmlTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

void write_tokenizer_folder(const std::string& dir, const std::string& tokenizer_json,
                            const std::vector<std::string>& special_tokens) {
  TANDEM_CHECK(!special_tokens.empty(), dir, ": a tokenizer folder needs at least one special token (its EOS)");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TANDEM_CHECK(!ec, "cannot create ", dir, ": ", ec.message());
  const std::string& eos = special_tokens.front();
  auto has = [&](const char* t) { return std::find(special_tokens.begin(), special_tokens.end(), t) != special_tokens.end(); };

  nlohmann::json decoder = nlohmann::json::object(), additional = nlohmann::json::array();
  for (size_t i = 0; i < special_tokens.size(); ++i) {
    decoder[std::to_string(i)] = {{"content", special_tokens[i]}, {"lstrip", false}, {"normalized", false},
                                  {"rstrip", false},           {"single_word", false}, {"special", true}};
    if (i > 0) additional.push_back(special_tokens[i]);
  }
  nlohmann::json config = {{"added_tokens_decoder", decoder},
                           {"additional_special_tokens", additional},
                           {"bos_token", nullptr},
                           {"clean_up_tokenization_spaces", false},
                           {"eos_token", eos},
                           {"pad_token", eos},
                           {"tokenizer_class", "PreTrainedTokenizerFast"}};
  // Without <|im_start|> and <|im_end|> as special tokens the template's markers would be split into bytes.
  if (has("<|im_start|>") && has("<|im_end|>")) config["chat_template"] = kChatmlTemplate;
  const nlohmann::json map = {{"eos_token", eos}, {"pad_token", eos}, {"additional_special_tokens", additional}};

  write_file_atomic(dir + "/tokenizer.json", tokenizer_json);
  write_file_atomic(dir + "/tokenizer_config.json", config.dump(2) + "\n");
  write_file_atomic(dir + "/special_tokens_map.json", map.dump(2) + "\n");
}

}  // namespace tandem
