#include "tokenizer/decoder.h"

#include <cstring>
#include <unordered_map>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_fallback.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {

// The position of the first invalid UTF-8 sequence at or after `i` (bytes.size() when there is none), and in `bad`
// the length of the maximal invalid subsequence there, which from_utf8_lossy replaces by one U+FFFD.
size_t next_invalid(std::string_view bytes, size_t i, size_t* bad) {
  const size_t n = bytes.size();
  while (i < n) {
    uint64_t eight;
    if (i + 8 <= n && (std::memcpy(&eight, bytes.data() + i, 8), (eight & 0x8080808080808080ull) == 0)) {
      i += 8;  // ASCII, eight bytes at a time
      continue;
    }
    const uint8_t b = uint8_t(bytes[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    // The continuation bytes that keep the sequence valid (the second byte's range depends on the first).
    size_t good = 1;
    for (; len > 1 && good < len && i + good < n; ++good) {
      const uint8_t c = uint8_t(bytes[i + good]);
      uint8_t lo = 0x80, hi = 0xBF;
      if (good == 1 && b == 0xE0) lo = 0xA0;
      if (good == 1 && b == 0xED) hi = 0x9F;
      if (good == 1 && b == 0xF0) lo = 0x90;
      if (good == 1 && b == 0xF4) hi = 0x8F;
      if (c < lo || c > hi) break;
    }
    if (len > 1 && good == len) {
      i += len;
      continue;
    }
    *bad = len > 1 ? good : 1;
    return i;
  }
  return n;
}

}  // namespace

bool utf8_valid(std::string_view bytes) {
  size_t bad;
  return next_invalid(bytes, 0, &bad) == bytes.size();
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0, bad = 0;
  for (size_t at; (at = next_invalid(bytes, i, &bad)) < bytes.size(); i = at + bad) {
    out.append(bytes.substr(i, at - i));  // valid runs whole
    out += "\xEF\xBF\xBD";
  }
  out.append(bytes.substr(i));
  return out;
}

namespace {

using Tokens = std::vector<std::string>;

Tokens byte_fallback(Tokens tokens) {
  Tokens out;
  std::string pending;  // consecutive byte tokens, emitted together: one string if valid UTF-8, else one U+FFFD each
  auto flush = [&] {
    if (pending.empty()) return;
    if (utf8_lossy(pending) == pending) {
      out.push_back(pending);
    } else {
      for (size_t k = 0; k < pending.size(); ++k) out.push_back("\xEF\xBF\xBD");
    }
    pending.clear();
  };
  for (auto& t : tokens) {
    if (auto byte = byte_of_fallback_token(t)) {
      pending += char(*byte);
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  return out;
}

Tokens strip(const DecoderStep& step, Tokens tokens) {
  const char32_t c = utf8_decode(step.text)[0];
  for (auto& t : tokens) {
    const std::u32string chars = utf8_decode(t);
    size_t begin = 0, end = chars.size();
    while (begin < step.start && begin < chars.size() && chars[begin] == c) ++begin;
    for (size_t k = 0; k < step.stop && end > begin && chars[end - 1] == c; ++k) --end;
    t = utf8_encode(std::u32string_view(chars).substr(begin, end - begin));
  }
  return tokens;
}

Tokens metaspace(const DecoderStep& step, Tokens tokens) {
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = replace_all(tokens[i], step.text, i == 0 && step.prepend != PrependScheme::kNever ? "" : " ");
  return tokens;
}

Tokens byte_level(Tokens tokens) {
  static const std::unordered_map<char32_t, char> inverse = [] {
    std::unordered_map<char32_t, char> m;
    for (int b = 0; b < 256; ++b) m[byte_to_unicode()[size_t(b)]] = char(b);
    return m;
  }();
  std::string bytes;
  for (const auto& t : tokens) {
    std::string mapped;  // a token with a character outside the map is kept as it is
    bool all = true;
    for (char32_t c : utf8_decode(t)) {
      auto it = inverse.find(c);
      if (it == inverse.end()) {
        all = false;
        break;
      }
      mapped += it->second;
    }
    bytes += all ? mapped : t;
  }
  return {utf8_lossy(bytes)};
}

}  // namespace

std::string run_decoders(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens) {
  for (const auto& step : steps) {
    switch (step.kind) {
      case DecoderStep::Kind::kReplace:
        for (auto& t : tokens) t = replace_all(t, step.text, step.content);
        break;
      case DecoderStep::Kind::kByteFallback:
        tokens = byte_fallback(std::move(tokens));
        break;
      case DecoderStep::Kind::kFuse: {
        std::string joined;
        for (const auto& t : tokens) joined += t;
        tokens = {joined};
        break;
      }
      case DecoderStep::Kind::kStrip:
        tokens = strip(step, std::move(tokens));
        break;
      case DecoderStep::Kind::kMetaspace:
        tokens = metaspace(step, std::move(tokens));
        break;
      case DecoderStep::Kind::kByteLevel:
        tokens = byte_level(std::move(tokens));
        break;
    }
  }
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

}  // namespace tandem

