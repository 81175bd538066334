// Encoding arbitrary bytes with a real tokenizer (Qwen3's tokenizer.json: NFC normalizer, regex split, byte-level
// BPE, added tokens): no crash, every id inside the vocabulary, and decoding what was encoded works.
#include "fuzz_input.h"
#include "tokenizer/bpe_tokenizer.h"

namespace {
const tandem::BpeTokenizer& tokenizer() {
  static const tandem::BpeTokenizer t = tandem::BpeTokenizer::from_file(tandem::fuzz::tokenizer_path());
  return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const tandem::BpeTokenizer& tok = tokenizer();
  const std::vector<int32_t> ids = tok.encode(tandem::fuzz::text(data, size), true);
  for (const int32_t id : ids)
    if (id < 0 || id >= tok.vocab_size()) __builtin_trap();
  tok.decode(ids);
  return 0;
}
