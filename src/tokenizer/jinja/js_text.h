// JavaScript string semantics over UTF-8 text: @huggingface/jinja (the reference renderer) runs on JS strings, so
// trimming, lengths, whitespace classes, number formatting and JSON escaping follow ECMAScript here.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/unicode.h"  // utf8_decode_at, utf8_append

namespace tandem::jinja {

std::vector<std::string> code_points(std::string_view s);  // Array.from(str)

bool is_js_space(char32_t cp);     // JS \s and String.prototype.trim's set
bool is_word_byte(unsigned char c);  // JS \w (ASCII)
size_t utf16_length(std::string_view s);
std::string trim(std::string_view s, bool left, bool right);
// toUpperCase / toLowerCase for ASCII, Latin-1, Greek and Cyrillic letters (other scripts pass unchanged).
std::string js_upper(std::string_view s);
std::string js_lower(std::string_view s);

std::string js_number(double v);  // Number.prototype.toString
double js_to_number(std::string_view s);  // Number("..."): NaN when not numeric
double js_parse_int(std::string_view s);  // parseInt(s, 10)
double js_parse_float(std::string_view s);
std::string json_quote(std::string_view s, bool ensure_ascii);  // JSON.stringify(string) [+ \uXXXX for >= 0x7f]

}  // namespace tandem::jinja
