#include "tokenizer/byte_fallback.h"

namespace tandem {

std::string byte_fallback_token(uint8_t byte) {
  static const char* kHex = "0123456789ABCDEF";
  return std::string("<0x") + kHex[byte >> 4] + kHex[byte & 15] + ">";
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<uint8_t> byte_of_fallback_token(std::string_view token) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return std::nullopt;
  const int lo = hex_value(token[4]);
  if (lo < 0) return std::nullopt;
  if (token[3] == '+') return uint8_t(lo);
  const int hi = hex_value(token[3]);
  if (hi < 0) return std::nullopt;
  return uint8_t(hi * 16 + lo);
}

}  // namespace tandem
