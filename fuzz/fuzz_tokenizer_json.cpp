// tokenizer.json files: model, vocab and merges, added tokens, normalizer, pre-tokenizers, post-processor; a file
// that loads must then encode and decode text.
#include "fuzz_input.h"
#include "tokenizer/bpe_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tandem::fuzz::expect_clean([&] {
    const auto tok = tandem::BpeTokenizer::from_json_text(tandem::fuzz::text(data, size), "fuzz/tokenizer.json");
    const std::vector<int32_t> ids = tok.encode("Hello wörld 123 <|im_start|>  \n\t日本語 🙂", true);
    tok.decode(ids);
  });
  return 0;
}
