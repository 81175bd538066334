// The byte tokens of SentencePiece-style vocabularies: a byte no piece covers is encoded as the token "<0x41>"
// (model.byte_fallback), and a ByteFallback decoder turns such tokens back into bytes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem {

// "<0x0A>" for byte 10: two upper-case hex digits, as the HF library spells the tokens it looks up.
std::string byte_fallback_token(uint8_t byte);

// The byte a ByteFallback decoder reads from `token`: six bytes "<0x", two hex digits of either case, ">". (The
// HF library parses the digits with Rust's from_str_radix, which also takes "+F"; so do we.)
std::optional<uint8_t> byte_of_fallback_token(std::string_view token);

}  // namespace tandem
