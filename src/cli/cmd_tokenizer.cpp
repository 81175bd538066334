// Tokenizer commands:
//   tandem train-tokenizer --out tokenizer.json [--vocab-size N] [--special A,B] [--pattern qwen2|llama3|gpt2] FILE...
//   tandem tokenize TOKENIZER_JSON TEXT          token ids, then the decoded text
//   tandem chat-template TOKENIZER_CONFIG_JSON MESSAGES_JSON [--generation-prompt]
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "core/check.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/chat_template.h"

namespace tandem {

int cmd_train_tokenizer(int argc, char** argv) {
  BpeTrainerOptions o;
  std::string out;
  std::vector<std::string> files;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      TANDEM_CHECK(i + 1 < argc, a, " needs a value");
      return argv[++i];
    };
    if (a == "--out") out = value();
    else if (a == "--vocab-size") o.vocab_size = std::stoll(value());
    else if (a == "--pattern") {
      const std::string p = value();
      TANDEM_CHECK(p == "qwen2" || p == "llama3" || p == "gpt2", "--pattern must be qwen2, llama3 or gpt2, got ", p);
      o.pattern = p == "llama3" ? SplitPattern::kLlama3 : p == "gpt2" ? SplitPattern::kGpt2 : SplitPattern::kQwen2;
    }
    else if (a == "--special") {
      o.special_tokens.clear();
      std::stringstream ss(value());
      for (std::string t; std::getline(ss, t, ',');) o.special_tokens.push_back(t);
    } else if (a.rfind("--", 0) == 0) fail("unknown option ", a);
    else files.push_back(a);
  }
  TANDEM_CHECK(!out.empty() && !files.empty(), "usage: tandem train-tokenizer --out tokenizer.json [--vocab-size N] "
                                               "[--special A,B] [--pattern qwen2|llama3|gpt2] FILE...");
  std::vector<std::string> lines;
  for (const auto& f : files) {
    std::istringstream in(read_file(f));
    for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
  }
  write_file_atomic(out, train_bpe(lines, o));
  std::printf("wrote %s (%lld tokens, %zu lines of training text)\n", out.c_str(),
              (long long)BpeTokenizer::from_file(out).vocab_size(), lines.size());
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
  TANDEM_CHECK(argc == 2 || (argc == 3 && std::string(argv[2]) == "--generation-prompt"),
               "usage: tandem chat-template TOKENIZER_CONFIG_JSON MESSAGES_JSON [--generation-prompt]");
  const ChatTemplate t = ChatTemplate::from_tokenizer_config(argv[0]);
  read_json_file(argv[1]);  // a parse error names the file and line
  std::ifstream in(argv[1]);
  const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(in);  // key order kept: arguments render as written
  const bool wrapped = doc.is_object() && doc.contains("messages");
  const nlohmann::ordered_json& list = wrapped ? doc["messages"] : doc;
  TANDEM_CHECK(list.is_array(), argv[1], ": expected a list of {\"role\", \"content\"} messages");
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  for (const auto& m : list) {
    // Checked as datasets are (string role and content, tool calls well formed), then passed as written.
    json_get<std::string>(nlohmann::json::parse(m.dump()), "role", argv[1]);
    ChatMessage::from_json(m, argv[1]);
    messages.push_back(m);
  }
  const nlohmann::ordered_json tools = wrapped && doc.contains("tools") ? doc["tools"] : nlohmann::ordered_json();
  std::printf("%s", t.render(messages, argc == 3, tools).c_str());
  return 0;
}

}  // namespace tandem
