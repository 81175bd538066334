// Tokenizer commands:
//   tandem train-tokenizer --out DIR|FILE.json [--vocab-size N] [--special A,B] [--pattern P] [--text-field F] FILE...
//   tandem tokenize TOKENIZER_JSON TEXT          token ids, then the decoded text
//   tandem chat-template TOKENIZER_CONFIG_JSON MESSAGES_JSON [--generation-prompt]   (messages list or {messages, tools})
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/args.h"
#include "cli/command_table.h"
#include "cli/commands.h"
#include "data/training_text.h"
#include "core/check.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer_folder.h"

namespace tandem {

int cmd_train_tokenizer(int argc, char** argv) {
  const std::string usage = find_command("train-tokenizer")->usage;
  const Args args(ArgSpec{.usage = usage,
                          .options = {"out", "vocab-size", "special", "pattern", "text-field"},
                          .rest = "TEXT",
                          .rest_min = 1}, argc, argv);
  const std::string out = args.str("out", ""), text_field = args.str("text-field", "");
  const std::vector<std::string>& files = args.positionals();
  TANDEM_CHECK(!out.empty(), "missing --out; usage: ", usage.substr(0, usage.find('\n')));
  BpeTrainerOptions o;
  o.vocab_size = args.integer("vocab-size", o.vocab_size);
  const std::string p = args.str("pattern", "qwen2");
  TANDEM_CHECK(p == "qwen2" || p == "llama3" || p == "gpt2" || p == "o200k",
               "--pattern must be qwen2, llama3, gpt2 or o200k, got ", p);
  o.pattern = p == "llama3" ? SplitPattern::kLlama3
              : p == "gpt2" ? SplitPattern::kGpt2
              : p == "o200k" ? SplitPattern::kO200k
                             : SplitPattern::kQwen2;
  o.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};  // EOS and the ChatML markers
  if (args.has("special")) {
    o.special_tokens.clear();
    std::stringstream ss(args.str("special", ""));
    for (std::string t; std::getline(ss, t, ',');) o.special_tokens.push_back(t);
  }
  const std::vector<std::string> texts = tokenizer_training_texts(files, text_field);
  const std::string tokenizer_json = train_bpe(texts, o);
  // --out FILE.json: only tokenizer.json (the behaviour before tokenizer folders); anything else is a folder.
  const bool single_file = out.ends_with(".json");
  if (single_file) {
    if (const auto parent = std::filesystem::path(out).parent_path(); !parent.empty())
      std::filesystem::create_directories(parent);
    write_file_atomic(out, tokenizer_json);
  } else {
    write_tokenizer_folder(out, tokenizer_json, o.special_tokens);
  }
  const std::string json_path = single_file ? out : out + "/tokenizer.json";
  std::printf("wrote %s (%lld tokens, %zu training texts)\n", single_file ? out.c_str() : (out + "/").c_str(),
              (long long)BpeTokenizer::from_file(json_path).vocab_size(), texts.size());
  return 0;
}

int cmd_tokenize(int argc, char** argv) {
  TANDEM_CHECK(argc == 2, "usage: tandem tokenize TOKENIZER_JSON TEXT");
  const BpeTokenizer tok = BpeTokenizer::from_file(argv[0]);
  const std::vector<int32_t> ids = tok.encode(argv[1]);
  std::printf("%s\n%s\n", nlohmann::json(ids).dump().c_str(), tok.decode(ids).c_str());
  return 0;
}

// Renders MESSAGES_JSON (a list of messages, or {"messages": [...], "tools": [...]}) with the tokenizer's chat template.
// Messages may carry tool_calls, tool_call_id and name, as in transformers.
int cmd_chat_template(int argc, char** argv) {
  const Args args(ArgSpec{.usage = find_command("chat-template")->usage,
                          .flags = {"generation-prompt"},
                          .positionals = {"TOKENIZER_CONFIG_JSON", "MESSAGES_JSON"}}, argc, argv);
  const std::string& config = args.positionals()[0];
  const std::string& file = args.positionals()[1];
  const ChatTemplate t = ChatTemplate::from_tokenizer_config(config);
  read_json_file(file);  // a parse error names the file and line
  std::ifstream in(file);
  const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(in);  // key order kept: arguments render as written
  const bool wrapped = doc.is_object() && doc.contains("messages");
  const nlohmann::ordered_json& list = wrapped ? doc["messages"] : doc;
  TANDEM_CHECK(list.is_array(), file, ": expected a list of {\"role\", \"content\"} messages");
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  for (const auto& m : list) {
    // Checked as datasets are (string role and content, tool calls well formed), then passed as written.
    json_get<std::string>(nlohmann::json::parse(m.dump()), "role", file);
    ChatMessage::from_json(m, file);
    messages.push_back(m);
  }
  const nlohmann::ordered_json tools = wrapped && doc.contains("tools") ? doc["tools"] : nlohmann::ordered_json();
  std::printf("%s", t.render(messages, args.has("generation-prompt"), tools).c_str());
  return 0;
}

}  // namespace tandem
