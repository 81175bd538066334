// `tandem generate MODEL_DIR --prompt TEXT ...` and `tandem chat MODEL_DIR ...`: talk to a model folder or a
// checkpoint with KV-cached decoding (model/generate.h). The prompt is one user turn rendered with the model's
// chat template (generation prompt added) unless --no-chat-template or the tokenizer has none; replies end at
// EOS or the chat format's end-of-turn token. chat keeps its cache across turns (cli/chat_session.h).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli/args.h"
#include "cli/chat_session.h"
#include "cli/command_table.h"
#include "cli/commands.h"
#include "cli/inference_model.h"
#include "core/check.h"

namespace tandem {

namespace {
GenerationConfig generation_options(const Args& args) {
  GenerationConfig g;
  g.max_new_tokens = args.integer("max-new-tokens", 64);
  g.temperature = args.real("temperature", 0.0);
  g.top_p = args.real("top-p", 1.0);
  TANDEM_CHECK(g.max_new_tokens > 0, "--max-new-tokens must be positive, got ", g.max_new_tokens);
  TANDEM_CHECK(g.temperature >= 0, "--temperature must be >= 0, got ", g.temperature);
  TANDEM_CHECK(g.top_p > 0 && g.top_p <= 1, "--top-p must be in (0, 1], got ", g.top_p);
  return g;
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  const Args args(ArgSpec{.usage = find_command("generate")->usage,
                          .options = {"prompt", "max-new-tokens", "temperature", "top-p", "seed", "base"},
                          .flags = {"no-chat-template"},
                          .positionals = {"MODEL_DIR"}}, argc, argv);
  const std::string& dir = args.positionals()[0];
  const std::string text = args.str("prompt", "");
  TANDEM_CHECK(!text.empty(), "tandem generate needs --prompt TEXT");
  const GenerationConfig g = generation_options(args);
  const InferenceModel m = load_inference_model(dir, args.str("base", ""));
  const bool templated = m.tokenizer->chat_template && !args.has("no-chat-template");
  const std::string prompt =
      templated ? m.tokenizer->chat_template->render({{"user", text, std::nullopt}}, /*add_generation_prompt=*/true)
                : text;
  Rng rng(uint64_t(args.integer("seed", 0)));
  // As transformers: a rendered template already holds its special tokens; raw text gets the post-processor's
  // (a BOS for Llama-style tokenizers).
  std::printf("%s\n", reply(m, m.tokenizer->tokenizer.encode(prompt, /*add_special_tokens=*/!templated), g, rng).c_str());
  return 0;
}

int cmd_chat(int argc, char** argv) {
  const Args args(ArgSpec{.usage = find_command("chat")->usage,
                          .options = {"max-new-tokens", "temperature", "top-p", "seed", "base"},
                          .positionals = {"MODEL_DIR"}}, argc, argv);
  const std::string& dir = args.positionals()[0];
  const GenerationConfig g = generation_options(args);
  const InferenceModel m = load_inference_model(dir, args.str("base", ""));
  TANDEM_CHECK(m.tokenizer->chat_template, dir,
               ": the tokenizer has no chat template (tokenizer_config.json); use tandem generate --no-chat-template");
  Rng rng(uint64_t(args.integer("seed", 0)));
  const bool interactive = isatty(STDIN_FILENO);
  if (interactive) std::printf("chatting with %s (/reset forgets the conversation, /exit quits)\n", dir.c_str());
  std::vector<ChatMessage> conversation;
  ChatSession session(*m.model, m.stop_tokens);
  for (std::string line;;) {
    if (interactive) std::printf("> "), std::fflush(stdout);
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line == "/reset") {
      conversation.clear();
      session.reset();
      std::printf("(conversation reset)\n");
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    conversation.push_back({"user", line, std::nullopt});
    const std::string prompt = m.tokenizer->chat_template->render(conversation, /*add_generation_prompt=*/true);
    const std::string answer = reply_text(m, session.reply(m.tokenizer->tokenizer.encode(prompt), g, rng));
    conversation.push_back({"assistant", answer, std::nullopt});
    std::printf("%s\n", answer.c_str());
    std::fflush(stdout);
  }
  // How much the cache kept across turns saved: a fresh prefill each turn would feed every turn's whole prompt.
  std::fprintf(stderr, "chat: %lld prompt tokens prefilled, %lld cache rewinds, %lld cache rebuilds\n",
               static_cast<long long>(session.prefilled_tokens()), static_cast<long long>(session.rewinds()),
               static_cast<long long>(session.rebuilds()));
  return 0;
}

}  // namespace tandem
