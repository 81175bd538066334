// A Split pre-tokenizer built from hostile input: the bytes up to the first NUL are the regex, the rest the text.
// Compiling may fail with a tandem::Error (malformed, unsupported, too deep, too large) and so may matching (the
// step budget); anything else, a crash, a sanitizer report or a hang is a finding. Isolated pieces must cover the
// text exactly, and every behaviour must give pieces inside it.
#include <cstring>

#include "fuzz_input.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t pattern_size = nul ? size_t(nul - data) : size;
  const std::string pattern = tandem::fuzz::text(data, pattern_size);
  const std::u32string text = tandem::utf8_decode(nul ? tandem::fuzz::text(nul + 1, size - pattern_size - 1) : "");
  tandem::fuzz::expect_clean([&] {
    std::vector<std::u32string_view> pieces;
    tandem::Split::regex(pattern).split(text, pieces);
    std::u32string joined;
    for (auto p : pieces) joined += p;
    if (joined != text) __builtin_trap();
    const auto behavior = tandem::SplitBehavior(pattern.size() % 5);
    pieces.clear();
    tandem::Split::regex(pattern, behavior, pattern.size() % 2 == 1).split(text, pieces);
    for (auto p : pieces)
      if (p.empty() || p.data() < text.data() || p.data() + p.size() > text.data() + text.size()) __builtin_trap();
  });
  return 0;
}
