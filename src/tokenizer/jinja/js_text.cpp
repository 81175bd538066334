#include "tokenizer/jinja/js_text.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tandem::jinja {

std::vector<std::string> code_points(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0, n = 0; i < s.size(); i += n) {
    utf8_decode_at(s, i, &n);
    out.emplace_back(s.substr(i, n));
  }
  return out;
}

bool is_js_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

bool is_word_byte(unsigned char c) { return std::isalnum(c) != 0 || c == '_'; }

size_t utf16_length(std::string_view s) {
  size_t units = 0;
  for (size_t i = 0, n = 0; i < s.size(); i += n) units += utf8_decode_at(s, i, &n) >= 0x10000 ? 2 : 1;
  return units;
}

std::string trim(std::string_view s, bool left, bool right) {
  size_t a = 0, b = s.size(), n = 0;
  while (left && a < b && is_js_space(utf8_decode_at(s, a, &n))) a += n;
  while (right && b > a) {
    size_t start = b - 1;
    while (start > a && (static_cast<unsigned char>(s[start]) >> 6) == 2 && b - start < 4) --start;
    if (!is_js_space(utf8_decode_at(s, start, &n)) || start + n != b) break;
    b = start;
  }
  return std::string(s.substr(a, b - a));
}

namespace {
char32_t case_map(char32_t c, bool upper) {
  if (upper) {
    if ((c >= 'a' && c <= 'z') || (c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) ||
        (c >= 0x430 && c <= 0x44F))
      return c - 0x20;
    if (c >= 0x450 && c <= 0x45F) return c - 0x50;
    return c;
  }
  if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) ||
      (c >= 0x410 && c <= 0x42F))
    return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  return c;
}
std::string map_case(std::string_view s, bool upper) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0, n = 0; i < s.size(); i += n) {
    const char32_t c = utf8_decode_at(s, i, &n);
    if (c == 0xFFFD && n == 1 && static_cast<unsigned char>(s[i]) >= 0x80)
      out += s[i];  // keep invalid bytes as they are
    else
      utf8_append(out, case_map(c, upper));
  }
  return out;
}
}  // namespace

std::string js_upper(std::string_view s) { return map_case(s, true); }
std::string js_lower(std::string_view s) { return map_case(s, false); }

std::string js_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return "0";
  std::string out = v < 0 ? "-" : "";
  // Shortest round-trip digits d1..dk and exponent e (v = d1.d2..dk x 10^e), then ECMAScript's layout rules.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  const std::string sci(buf, res.ptr);
  const size_t e_at = sci.find('e');
  std::string digits = sci.substr(0, e_at);
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  const int n = std::atoi(sci.c_str() + e_at + 1) + 1;  // position of the decimal point
  const int k = int(digits.size());
  if (k <= n && n <= 21) {
    out += digits + std::string(size_t(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, size_t(n)) + std::string(".") + digits.substr(size_t(n));
  } else if (-6 < n && n <= 0) {
    out += std::string("0.") + std::string(size_t(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += std::string(".") + digits.substr(1);
    out += std::string("e") + (n - 1 >= 0 ? "+" : "-") + std::to_string(std::abs(n - 1));
  }
  return out;
}

namespace {
// The longest prefix of s (from `at`) that is a JS StrDecimalLiteral: [+-] (Infinity | digits[.digits][e[+-]digits]).
size_t decimal_prefix(std::string_view s, size_t at, bool allow_fraction) {
  size_t i = at;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (s.substr(i, 8) == "Infinity") return i + 8 - at;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (allow_fraction && i < s.size() && s[i] == '.') {
    size_t j = i + 1, frac = 0;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j, ++frac;
    if (digits + frac > 0) i = j, digits += frac;
  }
  if (digits == 0) return 0;
  if (allow_fraction && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    const size_t exp_start = j;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j > exp_start) i = j;
  }
  return i - at;
}
double parse_decimal(std::string_view s) {
  const std::string t(s);
  const size_t sign = (t[0] == '+' || t[0] == '-') ? 1 : 0;
  if (t.compare(sign, 8, "Infinity") == 0) return t[0] == '-' ? -INFINITY : INFINITY;
  return std::strtod(t.c_str(), nullptr);
}
}  // namespace

double js_to_number(std::string_view s) {
  const std::string t = trim(s, true, true);
  if (t.empty()) return 0;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X' || t[1] == 'o' || t[1] == 'O' || t[1] == 'b' ||
                                      t[1] == 'B')) {
    const int base = (t[1] == 'x' || t[1] == 'X') ? 16 : (t[1] == 'o' || t[1] == 'O') ? 8 : 2;
    double v = 0;
    for (size_t i = 2; i < t.size(); ++i) {
      const char c = char(std::tolower(static_cast<unsigned char>(t[i])));
      const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : 99;
      if (d >= base) return NAN;
      v = v * base + d;
    }
    return v;
  }
  const size_t n = decimal_prefix(t, 0, true);
  return n == t.size() ? parse_decimal(t) : NAN;
}

double js_parse_int(std::string_view s) {
  const std::string t = trim(s, true, false);
  size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
  const size_t start = i;
  double v = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) v = v * 10 + (t[i++] - '0');
  if (i == start) return NAN;
  return t[0] == '-' ? -v : v;
}

double js_parse_float(std::string_view s) {
  const std::string t = trim(s, true, false);
  const size_t n = decimal_prefix(t, 0, true);
  return n == 0 ? NAN : parse_decimal(std::string_view(t).substr(0, n));
}

std::string json_quote(std::string_view s, bool ensure_ascii) {
  std::string out = "\"";
  char buf[16];
  for (size_t i = 0, n = 0; i < s.size(); i += n) {
    const char32_t c = utf8_decode_at(s, i, &n);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (c < 0x20) {
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
      out += buf;
    } else if (ensure_ascii && c >= 0x7F) {
      // JS escapes UTF-16 code units: a code point above U+FFFF becomes its surrogate pair.
      if (c >= 0x10000) {
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", unsigned(0xD800 + ((c - 0x10000) >> 10)),
                      unsigned(0xDC00 + ((c - 0x10000) & 0x3FF)));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
      }
      out += buf;
    } else {
      out.append(s.substr(i, n));
    }
  }
  return out + "\"";
}

}  // namespace tandem::jinja
