// Chat templates: detecting a renderer from arbitrary template text (most are rejected), and rendering arbitrary
// message contents with each built-in renderer. The first byte picks the mode.
#include "fuzz_input.h"
#include "tokenizer/chat_template.h"

namespace {
// A ChatML template as Qwen2.5 ships it (abridged to what detection reads).
const char* kChatml =
    "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + "
    "'\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest = tandem::fuzz::text(data + 1, size - 1);
  tandem::fuzz::expect_clean([&] {
    if (data[0] % 2 == 0) {
      const auto t = tandem::ChatTemplate::detect(rest, "<s>", "fuzz/tokenizer_config.json");
      t.render({{"system", "be brief", std::nullopt}, {"user", "hi", std::nullopt}}, true);
      return;
    }
    const auto t = tandem::ChatTemplate::detect(kChatml, "<s>", "fuzz/tokenizer_config.json");
    const size_t cut = rest.size() / 2;
    t.render({{"user", rest.substr(0, cut), std::nullopt}, {"assistant", rest.substr(cut), rest.substr(cut / 2)}},
             data[0] % 4 == 1, data[0] % 8 == 1);
  });
  return 0;
}
