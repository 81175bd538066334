// One tokenizer build behind plain functions, compiled once per side of bench/tokenizer_ab.sh with -Dtandem=<ns>
// and -DSIDE=<a|b>, so that two versions of the library live in one process.
#include <string>
#include <string_view>

#include "tokenizer/bpe_tokenizer.h"

#define TANDEM_AB_CAT2(a, b) a##b
#define TANDEM_AB_CAT(a, b) TANDEM_AB_CAT2(a, b)
#define TANDEM_AB_FN(name) TANDEM_AB_CAT(SIDE, name)

void* TANDEM_AB_FN(_load)(const std::string& path) {
  return new tandem::BpeTokenizer(tandem::BpeTokenizer::from_file(path));
}
void* TANDEM_AB_FN(_copy)(const void* t) { return new tandem::BpeTokenizer(*static_cast<const tandem::BpeTokenizer*>(t)); }
size_t TANDEM_AB_FN(_encode)(const void* t, std::string_view text) {
  return static_cast<const tandem::BpeTokenizer*>(t)->encode(text).size();
}
void TANDEM_AB_FN(_free)(void* t) { delete static_cast<tandem::BpeTokenizer*>(t); }
