// Dataset lines in every shape the loaders detect (pre-tokenized ids, messages, Alpaca, prompt/completion,
// prompt/chosen/rejected, HH-RLHF), as SFT and as preference files, tokenized with a byte-level tokenizer and a
// ChatML template. The first byte picks SFT or preference.
#include "data/text_formats.h"
#include "fuzz_input.h"

namespace {
struct Encoder {
  tandem::BpeTokenizer tokenizer = tandem::BpeTokenizer::from_file(tandem::fuzz::tokenizer_path());
  tandem::ChatTemplate chat = tandem::ChatTemplate::from_text(
      "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + "
      "'\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
      {{"eos_token", "<|im_end|>"}}, {"<|im_start|>", "<|im_end|>"}, "fuzz");
  tandem::TextEncoder encoder{&tokenizer, &chat, 151645, 151936};
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Encoder e;
  if (size == 0) return 0;
  const std::string path = tandem::fuzz::as_file(data + 1, size - 1, ".jsonl");
  tandem::fuzz::expect_clean([&] {
    if (data[0] % 2 == 0) tandem::load_sft_dataset(path, &e.encoder);
    else tandem::load_preference_dataset(path, &e.encoder);
  });
  return 0;
}
