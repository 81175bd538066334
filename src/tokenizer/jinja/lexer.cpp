#include "tokenizer/jinja/lexer.h"

#include <utility>

#include "core/check.h"
#include "tokenizer/jinja/js_text.h"

namespace tandem::jinja {

namespace {

// Text with the original line of every byte, so preprocessing that removes newlines keeps line numbers right.
struct Src {
  std::string s;
  std::vector<int> line;
  void push(char c, int l) {
    s += c;
    line.push_back(l);
  }
};

// Bytes of the JS whitespace code point ending right before `end`, or 0.
size_t space_before(const std::string& s, size_t end) {
  for (size_t back = 1; back <= 4 && back <= end; ++back) {
    const size_t at = end - back;
    if (back < 4 && (static_cast<unsigned char>(s[at]) >> 6) == 2) continue;
    size_t n = 0;
    const char32_t c = utf8_decode_at(s, at, &n);
    return at + n == end && is_js_space(c) ? n : 0;
  }
  return 0;
}
size_t space_at(const std::string& s, size_t at) {
  if (at >= s.size()) return 0;
  size_t n = 0;
  return is_js_space(utf8_decode_at(s, at, &n)) ? n : 0;
}

bool line_terminator_before(const std::string& s, size_t at) {
  if (at == 0) return true;
  if (s[at - 1] == '\n' || s[at - 1] == '\r') return true;
  return at >= 3 && (s.compare(at - 3, 3, "\xE2\x80\xA8") == 0 || s.compare(at - 3, 3, "\xE2\x80\xA9") == 0);
}

Src preprocess(const std::string& template_text) {
  Src in;
  int line = 1;
  for (char c : template_text) {
    in.push(c, line);
    if (c == '\n') ++line;
  }
  if (!in.s.empty() && in.s.back() == '\n') {
    in.s.pop_back();
    in.line.pop_back();
  }
  // lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1"
  Src a;
  for (size_t i = 0; i < in.s.size();) {
    if (line_terminator_before(in.s, i)) {
      size_t j = i;
      while (j < in.s.size() && (in.s[j] == ' ' || in.s[j] == '\t')) ++j;
      if (j > i && j + 1 < in.s.size() && in.s[j] == '{' &&
          (in.s[j + 1] == '#' || in.s[j + 1] == '%' || in.s[j + 1] == '-')) {
        i = j;
      }
    }
    a.push(in.s[i], in.line[i]);
    ++i;
  }
  // trim_blocks: /([#%-]})\n/g -> "$1"
  Src b;
  for (size_t i = 0; i < a.s.size(); ++i) {
    b.push(a.s[i], a.line[i]);
    if (a.s[i] == '}' && i > 0 && (a.s[i - 1] == '#' || a.s[i - 1] == '%' || a.s[i - 1] == '-') &&
        i + 1 < a.s.size() && a.s[i + 1] == '\n') {
      ++i;
    }
  }
  // transformers' generation tags: /(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs -> kept spaces per the dashes.
  Src c;
  size_t copied = 0;  // b.s[..copied) is in c
  for (size_t i = 0; i + 1 < b.s.size(); ++i) {
    if (b.s[i] != '{' || b.s[i + 1] != '%') continue;
    size_t j = i + 2;
    const bool lstrip = j < b.s.size() && b.s[j] == '-';
    if (lstrip) ++j;
    while (size_t n = space_at(b.s, j)) j += n;
    if (b.s.compare(j, 3, "end") == 0) j += 3;
    if (b.s.compare(j, 10, "generation") != 0) continue;
    j += 10;
    while (size_t n = space_at(b.s, j)) j += n;
    const bool rstrip = j < b.s.size() && b.s[j] == '-';
    if (rstrip) ++j;
    if (b.s.compare(j, 2, "%}") != 0) continue;
    j += 2;
    size_t before = i;
    while (before > copied && space_before(b.s, before)) before -= space_before(b.s, before);
    size_t after = j;
    while (size_t n = space_at(b.s, after)) after += n;
    for (size_t k = copied; k < (lstrip ? before : i); ++k) c.push(b.s[k], b.line[k]);
    if (!rstrip)
      for (size_t k = j; k < after; ++k) c.push(b.s[k], b.line[k]);
    copied = after;
    i = after - 1;
  }
  for (size_t k = copied; k < b.s.size(); ++k) c.push(b.s[k], b.line[k]);
  return c;
}

const std::pair<const char*, Tok> kTable[] = {
    {"{%", Tok::kOpenStatement}, {"%}", Tok::kCloseStatement}, {"{{", Tok::kOpenExpression},
    {"}}", Tok::kCloseExpression}, {"(", Tok::kOpenParen}, {")", Tok::kCloseParen}, {"{", Tok::kOpenCurly},
    {"}", Tok::kCloseCurly}, {"[", Tok::kOpenSquare}, {"]", Tok::kCloseSquare}, {",", Tok::kComma},
    {".", Tok::kDot}, {":", Tok::kColon}, {"|", Tok::kPipe}, {"<=", Tok::kComparison}, {">=", Tok::kComparison},
    {"==", Tok::kComparison}, {"!=", Tok::kComparison}, {"<", Tok::kComparison}, {">", Tok::kComparison},
    {"+", Tok::kAdditive}, {"-", Tok::kAdditive}, {"~", Tok::kAdditive}, {"**", Tok::kPower},
    {"*", Tok::kMultiplicative}, {"//", Tok::kMultiplicative}, {"/", Tok::kMultiplicative},
    {"%", Tok::kMultiplicative}, {"=", Tok::kEquals},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::vector<Token> tokenize(const std::string& source) {
  const Src src = preprocess(source);
  const std::string& s = src.s;
  std::vector<Token> tokens;
  size_t pos = 0;
  int curly_depth = 0;
  auto line_at = [&](size_t at) { return src.line.empty() ? 1 : src.line[std::min(at, src.line.size() - 1)]; };
  auto error = [&](const std::string& what) { fail("chat template line ", line_at(pos), ": ", what); };
  auto push = [&](Tok t, std::string v, size_t at) { tokens.push_back({t, std::move(v), line_at(at)}); };

  // The lexer's consumeWhile: string escapes, and running off the end inside a token is an error.
  auto consume_while = [&](auto&& pred) {
    std::string out;
    while (pos < s.size() && pred(s[pos])) {
      if (s[pos] == '\\') {
        if (++pos >= s.size()) error("unexpected end of template");
        const char e = s[pos++];
        if (e == 'x' || e == 'u') {
          const size_t len = e == 'x' ? 2 : 4;
          const std::string hex = s.substr(pos, len);
          bool ok = hex.size() == len;
          for (char h : hex) ok = ok && std::isxdigit(static_cast<unsigned char>(h));
          if (!ok) error("invalid escape \\" + std::string(1, e) + hex);
          utf8_append(out, char32_t(std::stoul(hex, nullptr, 16)));
          pos += len;
          continue;
        }
        const char* map = "n\nt\tr\rb\bf\fv\v''\"\"\\\\";
        bool found = false;
        for (size_t k = 0; map[k]; k += 2)
          if (map[k] == e) out += map[k + 1], found = true;
        if (!found) error("unexpected escaped character \\" + std::string(1, e));
        continue;
      }
      out += s[pos++];
      if (pos >= s.size()) error("unexpected end of template");
    }
    return out;
  };
  auto strip_trailing = [&] {
    if (!tokens.empty() && tokens.back().type == Tok::kText) {
      tokens.back().value = trim(tokens.back().value, false, true);
      if (tokens.back().value.empty()) tokens.pop_back();
    }
  };
  auto skip_leading = [&] {
    while (size_t n = space_at(s, pos)) pos += n;
  };

  while (pos < s.size()) {
    const Tok last = tokens.empty() ? Tok::kText : tokens.back().type;
    if (tokens.empty() || last == Tok::kCloseStatement || last == Tok::kCloseExpression || last == Tok::kComment) {
      const size_t start = pos;
      while (pos < s.size() && !(s[pos] == '{' && pos + 1 < s.size() &&
                                 (s[pos + 1] == '%' || s[pos + 1] == '{' || s[pos + 1] == '#')))
        ++pos;
      if (pos > start) {
        push(Tok::kText, s.substr(start, pos - start), start);
        continue;
      }
    }
    if (s.compare(pos, 2, "{#") == 0) {
      const size_t start = pos;
      pos += 2;
      const bool strip_before = pos < s.size() && s[pos] == '-';
      if (strip_before) ++pos;
      std::string comment;
      while (pos >= s.size() || s[pos] != '#' || pos + 1 >= s.size() || s[pos + 1] != '}') {
        if (pos + 2 >= s.size()) error("missing end of comment tag");
        comment += s[pos++];
      }
      const bool strip_after = !comment.empty() && comment.back() == '-';
      if (strip_after) comment.pop_back();
      if (strip_before) strip_trailing();
      push(Tok::kComment, comment, start);
      pos += 2;
      if (strip_after) skip_leading();
      continue;
    }
    if (s.compare(pos, 3, "{%-") == 0) {
      strip_trailing();
      push(Tok::kOpenStatement, "{%", pos);
      pos += 3;
      continue;
    }
    if (s.compare(pos, 3, "{{-") == 0) {
      strip_trailing();
      push(Tok::kOpenExpression, "{{", pos);
      curly_depth = 0;
      pos += 3;
      continue;
    }
    while (size_t n = space_at(s, pos)) pos += n;
    if (s.compare(pos, 3, "-%}") == 0) {
      push(Tok::kCloseStatement, "%}", pos);
      pos += 3;
      skip_leading();
      continue;
    }
    if (s.compare(pos, 3, "-}}") == 0) {
      push(Tok::kCloseExpression, "}}", pos);
      pos += 3;
      skip_leading();
      continue;
    }
    if (pos >= s.size()) error("unexpected end of template");
    const char ch = s[pos];
    if (ch == '-' || ch == '+') {
      if (tokens.empty() || last == Tok::kText) error(std::string("unexpected character ") + ch);
      if (!(last == Tok::kIdentifier || last == Tok::kNumber || last == Tok::kString || last == Tok::kCloseParen ||
            last == Tok::kCloseSquare)) {
        const size_t start = pos++;
        std::string num = consume_while(is_digit);
        if (!num.empty() && pos + 1 < s.size() && s[pos] == '.' && is_digit(s[pos + 1])) {
          ++pos;
          num += std::string(".") + consume_while(is_digit);
        }
        push(num.empty() ? Tok::kUnary : Tok::kNumber, ch + num, start);
        continue;
      }
    }
    bool matched = false;
    for (const auto& [seq, type] : kTable) {
      if (type == Tok::kCloseExpression && curly_depth > 0) continue;
      const size_t len = std::char_traits<char>::length(seq);
      if (s.compare(pos, len, seq) != 0) continue;
      push(type, seq, pos);
      if (type == Tok::kOpenExpression) curly_depth = 0;
      if (type == Tok::kOpenCurly) ++curly_depth;
      if (type == Tok::kCloseCurly) --curly_depth;
      pos += len;
      matched = true;
      break;
    }
    if (matched) continue;
    if (ch == '\'' || ch == '"') {
      const size_t start = pos++;
      std::string str = consume_while([ch](char c) { return c != ch; });
      if (pos >= s.size()) error("unterminated string");
      push(Tok::kString, std::move(str), start);
      ++pos;
      continue;
    }
    if (is_digit(ch)) {
      const size_t start = pos;
      std::string num = consume_while(is_digit);
      if (last != Tok::kDot && pos + 1 < s.size() && s[pos] == '.' && is_digit(s[pos + 1])) {
        ++pos;
        num += std::string(".") + consume_while(is_digit);
      }
      push(Tok::kNumber, std::move(num), start);
      continue;
    }
    if (is_word_byte(static_cast<unsigned char>(ch))) {
      const size_t start = pos;
      std::string word = consume_while([](char c) { return is_word_byte(static_cast<unsigned char>(c)); });
      if (pos >= s.size()) error("unexpected end of template");
      push(Tok::kIdentifier, std::move(word), start);
      continue;
    }
    error("unexpected character '" + std::string(1, ch) + "'");
  }
  return tokens;
}

}  // namespace tandem::jinja
