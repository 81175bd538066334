#include "tokenizer/unicode.h"

#include <algorithm>
#include <cstdint>

namespace tandem {

namespace {

struct CodepointRange {
  char32_t lo, hi;
};
struct CombiningClassRange {
  char32_t lo, hi;
  int ccc;
};
struct Decomposition {
  char32_t cp;
  int offset, length;
};
struct Composition {
  char32_t first, second, composite;
};
struct CategoryRange {
  char32_t lo, hi;
  uint8_t category;
};
struct CaseFold {
  char32_t from, to;
};

#include "tokenizer/unicode_tables.inc"

template <size_t N>
bool in_ranges(const CodepointRange (&ranges)[N], char32_t cp) {
  const auto* it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                                    [](char32_t c, const CodepointRange& r) { return c < r.lo; });
  return it != std::begin(ranges) && cp <= (it - 1)->hi;
}

// Hangul syllables compose and decompose algorithmically.
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void decompose(char32_t cp, std::u32string& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const int s = int(cp - kSBase);
    out += char32_t(kLBase + s / kNCount);
    out += char32_t(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out += char32_t(kTBase + s % kTCount);
    return;
  }
  const auto* it = std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), cp,
                                    [](const Decomposition& d, char32_t c) { return d.cp < c; });
  if (it != std::end(kDecompositions) && it->cp == cp)
    out.append(kDecompositionData + it->offset, kDecompositionData + it->offset + it->length);
  else
    out += cp;
}

// The primary composite of (a, b), or 0.
char32_t compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + char32_t((int(a - kLBase) * kVCount + int(b - kVBase)) * kTCount);
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* it = std::lower_bound(std::begin(kCompositions), std::end(kCompositions), std::pair(a, b),
                                    [](const Composition& c, std::pair<char32_t, char32_t> key) {
                                      return std::pair(c.first, c.second) < key;
                                    });
  return it != std::end(kCompositions) && it->first == a && it->second == b ? it->composite : 0;
}

}  // namespace

char32_t utf8_decode_at(std::string_view s, size_t i, size_t* len) {
  const auto b = static_cast<uint8_t>(s[i]);
  const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
  bool ok = n > 0 && i + n <= s.size();
  for (size_t k = 1; ok && k < n; ++k) {
    const auto c = static_cast<uint8_t>(s[i + k]);
    ok = (c >> 6) == 2;
    cp = (cp << 6) | (c & 0x3f);
  }
  *len = ok ? n : 1;
  return ok ? cp : U'\uFFFD';
}

std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0, n = 0; i < s.size(); i += n) out += utf8_decode_at(s, i, &n);
  return out;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

std::string utf8_encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) utf8_append(out, cp);
  return out;
}

bool is_letter(char32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_ranges(kLetterRanges, cp);
}

bool is_number(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(kNumberRanges, cp);
}

bool is_whitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

namespace {
GeneralCategory category_from_ranges(char32_t cp) {
  const auto* it = std::upper_bound(std::begin(kCategoryRanges), std::end(kCategoryRanges), cp,
                                    [](char32_t c, const CategoryRange& r) { return c < r.lo; });
  if (it == std::begin(kCategoryRanges) || cp > (it - 1)->hi) return GeneralCategory::kCn;
  return GeneralCategory((it - 1)->category);
}
}  // namespace

GeneralCategory general_category(char32_t cp) {
  // A table for the Basic Multilingual Plane (the pre-tokenizers' hot path), the binary search above it.
  static const std::vector<uint8_t> bmp = [] {
    std::vector<uint8_t> t(0x10000);
    for (char32_t c = 0; c < 0x10000; ++c) t[c] = uint8_t(category_from_ranges(c));
    return t;
  }();
  return cp < 0x10000 ? GeneralCategory(bmp[cp]) : category_from_ranges(cp);
}

char32_t case_fold(char32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
  const auto* it = std::lower_bound(std::begin(kCaseFolds), std::end(kCaseFolds), cp,
                                    [](const CaseFold& f, char32_t c) { return f.from < c; });
  return it != std::end(kCaseFolds) && it->from == cp ? it->to : cp;
}

int combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  const auto* it = std::upper_bound(std::begin(kCombiningClasses), std::end(kCombiningClasses), cp,
                                    [](char32_t c, const CombiningClassRange& r) { return c < r.lo; });
  return it != std::begin(kCombiningClasses) && cp <= (it - 1)->hi ? (it - 1)->ccc : 0;
}

std::u32string nfc(std::u32string_view s) {
  // 1. Canonical decomposition.
  std::u32string d;
  d.reserve(s.size());
  for (char32_t cp : s) decompose(cp, d);
  // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + long(i), d.begin() + long(j),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // 3. Canonical composition.
  std::u32string out;
  out.reserve(d.size());
  size_t starter = std::u32string::npos;
  int last_ccc = -1;
  for (char32_t cp : d) {
    const int ccc = combining_class(cp);
    if (starter != std::u32string::npos && (last_ccc < ccc || (last_ccc == 0 && out.size() == starter + 1))) {
      if (const char32_t c = compose(out[starter], cp)) {
        out[starter] = c;
        continue;
      }
    }
    if (ccc == 0) {
      starter = out.size();
      last_ccc = 0;
    } else {
      last_ccc = ccc;
    }
    out += cp;
  }
  return out;
}

std::string nfc(std::string_view utf8) {
  bool ascii = true;
  for (char c : utf8) ascii &= static_cast<uint8_t>(c) < 0x80;
  if (ascii) return std::string(utf8);
  return utf8_encode(nfc(utf8_decode(utf8)));
}

}  // namespace tandem
