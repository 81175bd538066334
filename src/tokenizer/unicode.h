// The Unicode the tokenizer needs: UTF-8 decoding/encoding, the \p{L} / \p{N} / \s classes of the
// pre-tokenizer regexes, and NFC normalisation (Qwen's normalizer). Tables come from
// scripts/gen_unicode_tables.py (Unicode 14).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// Decodes UTF-8; an invalid byte becomes U+FFFD, one byte at a time.
std::u32string utf8_decode(std::string_view s);
std::string utf8_encode(std::u32string_view s);
void utf8_append(std::string& out, char32_t cp);

bool is_letter(char32_t cp);      // \p{L}
bool is_number(char32_t cp);      // \p{N}
bool is_whitespace(char32_t cp);  // \s: the White_Space property
int combining_class(char32_t cp);

std::u32string nfc(std::u32string_view s);
std::string nfc(std::string_view utf8);

}  // namespace tandem
