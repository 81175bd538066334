// The Unicode the tokenizer needs: UTF-8 decoding/encoding, the \p{L} / \p{N} / \s classes of the
// pre-tokenizer regexes, general categories and case folding (the Split regex engine), and NFC normalisation (Qwen's normalizer). Tables come from
// scripts/gen_unicode_tables.py (categories and case folding: Unicode 16.0; NFC data: Unicode 14.0).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// Decodes UTF-8; an invalid byte becomes U+FFFD, one byte at a time.
std::u32string utf8_decode(std::string_view s);
// One code point at s[i]; `len` gets its byte length (an invalid byte decodes as U+FFFD, length 1).
char32_t utf8_decode_at(std::string_view s, size_t i, size_t* len);
std::string utf8_encode(std::u32string_view s);
void utf8_append(std::string& out, char32_t cp);

bool is_letter(char32_t cp);      // \p{L}
bool is_number(char32_t cp);      // \p{N}
bool is_whitespace(char32_t cp);  // \s: the White_Space property

// Unicode general categories, in the order of scripts/gen_unicode_tables.py (a bit each in a category mask).
enum class GeneralCategory : uint8_t {
  kLu, kLl, kLt, kLm, kLo, kMn, kMc, kMe, kNd, kNl, kNo, kPc, kPd, kPs, kPe, kPi, kPf, kPo,
  kSm, kSc, kSk, kSo, kZs, kZl, kZp, kCc, kCf, kCs, kCo, kCn,
};
GeneralCategory general_category(char32_t cp);
// Simple case folding: the one code point `cp` folds to under case-insensitive matching (itself if none).
char32_t case_fold(char32_t cp);
int combining_class(char32_t cp);

std::u32string nfc(std::u32string_view s);
std::string nfc(std::string_view utf8);

}  // namespace tandem
