#include "tokenizer/regex.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>

#include "core/check.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {

constexpr int kMaxNesting = 64;            // groups within groups: deeper is a hostile pattern, not a tokenizer
constexpr size_t kMaxInstructions = 50000;  // after {n,m} copies; the real patterns compile to under 300
constexpr int kMaxRepeat = 1000;           // the largest n or m of {n,m}
constexpr size_t kMaxMemoBits = size_t(1) << 27;  // per nesting level (16 MB); past it, only the step budget bounds
constexpr uint64_t kBaseSteps = 1'000'000, kStepsPerChar = 1'000;  // real patterns take about 10 a character
// An attempt first runs without the memo (its bookkeeping costs more than the steps it saves on real patterns),
// giving up past this many steps; the memoised attempt, whose cost is bounded, then runs from the start.
constexpr uint64_t kUnmemoisedSteps = 1024;

using CategoryMask = uint32_t;
constexpr CategoryMask bit(GeneralCategory c) { return CategoryMask(1) << int(c); }
constexpr CategoryMask kLetters = bit(GeneralCategory::kLu) | bit(GeneralCategory::kLl) | bit(GeneralCategory::kLt) |
                                  bit(GeneralCategory::kLm) | bit(GeneralCategory::kLo);
constexpr CategoryMask kMarks = bit(GeneralCategory::kMn) | bit(GeneralCategory::kMc) | bit(GeneralCategory::kMe);
constexpr CategoryMask kNumbers = bit(GeneralCategory::kNd) | bit(GeneralCategory::kNl) | bit(GeneralCategory::kNo);
constexpr CategoryMask kPunctuation = bit(GeneralCategory::kPc) | bit(GeneralCategory::kPd) |
                                      bit(GeneralCategory::kPs) | bit(GeneralCategory::kPe) |
                                      bit(GeneralCategory::kPi) | bit(GeneralCategory::kPf) | bit(GeneralCategory::kPo);
constexpr CategoryMask kSymbols = bit(GeneralCategory::kSm) | bit(GeneralCategory::kSc) | bit(GeneralCategory::kSk) |
                                  bit(GeneralCategory::kSo);
constexpr CategoryMask kSeparators = bit(GeneralCategory::kZs) | bit(GeneralCategory::kZl) | bit(GeneralCategory::kZp);
constexpr CategoryMask kOther = bit(GeneralCategory::kCc) | bit(GeneralCategory::kCf) | bit(GeneralCategory::kCs) |
                                bit(GeneralCategory::kCo) | bit(GeneralCategory::kCn);
// \w: Oniguruma's Word is Alphabetic + Mark + Decimal_Number + Connector_Punctuation; letters and letter numbers
// stand in for Alphabetic here (they differ on a few symbols such as circled letters).
constexpr CategoryMask kWord = kLetters | bit(GeneralCategory::kNl) | kMarks | bit(GeneralCategory::kNd) |
                               bit(GeneralCategory::kPc);

// The property name of \p{name}: general categories by short or long name, compared as Oniguruma does (case,
// spaces, '_' and '-' ignored). 0 when unknown.
CategoryMask property_mask(std::string name) {
  std::string key;
  for (char c : name)
    if (c != '_' && c != ' ' && c != '-') key += char(c >= 'A' && c <= 'Z' ? c + 32 : c);
  struct Named {
    const char* name;
    CategoryMask mask;
  };
  using G = GeneralCategory;
  static const Named kNames[] = {
      {"l", kLetters}, {"letter", kLetters}, {"lc", bit(G::kLu) | bit(G::kLl) | bit(G::kLt)},
      {"l&", bit(G::kLu) | bit(G::kLl) | bit(G::kLt)}, {"casedletter", bit(G::kLu) | bit(G::kLl) | bit(G::kLt)},
      {"lu", bit(G::kLu)}, {"uppercaseletter", bit(G::kLu)}, {"ll", bit(G::kLl)}, {"lowercaseletter", bit(G::kLl)},
      {"lt", bit(G::kLt)}, {"titlecaseletter", bit(G::kLt)}, {"lm", bit(G::kLm)}, {"modifierletter", bit(G::kLm)},
      {"lo", bit(G::kLo)}, {"otherletter", bit(G::kLo)},
      {"m", kMarks}, {"mark", kMarks}, {"combiningmark", kMarks}, {"mn", bit(G::kMn)}, {"nonspacingmark", bit(G::kMn)},
      {"mc", bit(G::kMc)}, {"spacingmark", bit(G::kMc)}, {"me", bit(G::kMe)}, {"enclosingmark", bit(G::kMe)},
      {"n", kNumbers}, {"number", kNumbers}, {"nd", bit(G::kNd)}, {"decimalnumber", bit(G::kNd)},
      {"nl", bit(G::kNl)}, {"letternumber", bit(G::kNl)}, {"no", bit(G::kNo)}, {"othernumber", bit(G::kNo)},
      {"p", kPunctuation}, {"punctuation", kPunctuation}, {"pc", bit(G::kPc)}, {"connectorpunctuation", bit(G::kPc)},
      {"pd", bit(G::kPd)}, {"dashpunctuation", bit(G::kPd)}, {"ps", bit(G::kPs)}, {"openpunctuation", bit(G::kPs)},
      {"pe", bit(G::kPe)}, {"closepunctuation", bit(G::kPe)}, {"pi", bit(G::kPi)},
      {"initialpunctuation", bit(G::kPi)}, {"pf", bit(G::kPf)}, {"finalpunctuation", bit(G::kPf)},
      {"po", bit(G::kPo)}, {"otherpunctuation", bit(G::kPo)},
      {"s", kSymbols}, {"symbol", kSymbols}, {"sm", bit(G::kSm)}, {"mathsymbol", bit(G::kSm)}, {"sc", bit(G::kSc)},
      {"currencysymbol", bit(G::kSc)}, {"sk", bit(G::kSk)}, {"modifiersymbol", bit(G::kSk)}, {"so", bit(G::kSo)},
      {"othersymbol", bit(G::kSo)},
      {"z", kSeparators}, {"separator", kSeparators}, {"zs", bit(G::kZs)}, {"spaceseparator", bit(G::kZs)},
      {"zl", bit(G::kZl)}, {"lineseparator", bit(G::kZl)}, {"zp", bit(G::kZp)}, {"paragraphseparator", bit(G::kZp)},
      {"c", kOther}, {"other", kOther}, {"cc", bit(G::kCc)}, {"control", bit(G::kCc)}, {"cf", bit(G::kCf)},
      {"format", bit(G::kCf)}, {"cs", bit(G::kCs)}, {"surrogate", bit(G::kCs)}, {"co", bit(G::kCo)},
      {"privateuse", bit(G::kCo)}, {"cn", bit(G::kCn)}, {"unassigned", bit(G::kCn)},
      {"any", ~CategoryMask(0)},
  };
  for (const auto& n : kNames)
    if (key == n.name) return n.mask;
  return 0;
}

// One member of a character class: a range of code points, a set of general categories, or White_Space.
struct ClassItem {
  enum Kind : uint8_t { kRange, kCategories, kSpace } kind = kRange;
  bool negate = false;
  char32_t lo = 0, hi = 0;
  CategoryMask mask = 0;

  bool matches(char32_t c, CategoryMask category) const {
    const bool in = kind == kRange ? (c >= lo && c <= hi) : kind == kSpace ? is_whitespace(c) : (mask & category) != 0;
    return in != negate;
  }
};

struct CharClass {
  std::vector<ClassItem> items;
  bool negate = false, fold = false;
  std::array<uint64_t, 2> ascii{};  // the answer for code points below 128, precomputed

  bool any_item(char32_t c) const {
    const CategoryMask category = bit(general_category(c));
    for (const auto& item : items)
      if (item.matches(c, category)) return true;
    return false;
  }
  bool slow_matches(char32_t c) const {
    bool in = any_item(c);
    if (!in && fold) {
      const char32_t f = case_fold(c);
      in = (f != c && any_item(f)) || (c < 128 && c >= 'a' && c <= 'z' && any_item(c - 32));
    }
    return in != negate;
  }
  void finish() {
    for (char32_t c = 0; c < 128; ++c)
      if (slow_matches(c)) ascii[c >> 6] |= uint64_t(1) << (c & 63);
  }
  bool matches(char32_t c) const { return c < 128 ? (ascii[c >> 6] >> (c & 63)) & 1 : slow_matches(c); }
};

enum class Assertion : uint8_t { kLineStart, kLineEnd, kTextStart, kTextEnd, kTextEndBeforeNewline, kWordBoundary,
                                 kNotWordBoundary };

struct Node {
  enum Kind { kEmpty, kChar, kClass, kAny, kConcat, kAlternation, kRepeat, kLookahead, kAssert } kind = kEmpty;
  char32_t cp = 0;
  bool fold = false, greedy = true, negate = false;
  int cls = -1, min = 0, max = 0;  // max < 0: unbounded
  Assertion assertion = Assertion::kLineStart;
  std::vector<Node> kids;
};

Node node(Node::Kind kind) {
  Node n;
  n.kind = kind;
  return n;
}

enum class Op : uint8_t { kChar, kClass, kAny, kSplit, kJmp, kLook, kAssert, kMatch };
struct Inst {
  Op op;
  uint8_t flag;  // kChar: fold; kLook: negate; kAssert: the Assertion
  uint32_t x, y;  // kChar: code point; kClass: class index; kSplit: preferred, other; kJmp: x; kLook: body, next
};

}  // namespace

struct Regex::Program {
  std::vector<Inst> code;
  std::vector<CharClass> classes;
  // When every match starts by consuming a character: the instructions that can consume it. A search skips the
  // positions none of them accepts without starting an attempt there (for ASCII, one bit test).
  bool first_filter = false;
  std::vector<uint32_t> first;
  std::array<uint64_t, 2> ascii_first{};
  // Per instruction: 1 when it is the split of a greedy one-character loop, L: split(L+1, L+3); x; jmp L (what
  // x* and x+ compile to for a character, class or '.'). The unmemoised attempt runs such a loop as a scan.
  std::vector<uint8_t> loop;

  bool accepts(const Inst& in, char32_t c) const {
    switch (in.op) {
      case Op::kChar: return (in.flag ? (c < 128 ? (c - 'A' < 26 ? c + 32 : c) : case_fold(c)) : c) == in.x;
      case Op::kClass: return classes[in.x].matches(c);
      case Op::kAny: return c != '\n';
      default: return false;
    }
  }
  bool can_start(char32_t c) const {
    if (c < 128) return (ascii_first[c >> 6] >> (c & 63)) & 1;
    if (first.empty()) return true;  // too many to check
    for (uint32_t pc : first)
      if (accepts(code[pc], c)) return true;
    return false;
  }
  void find_loops() {
    loop.assign(code.size(), 0);
    for (size_t pc = 0; pc + 3 <= code.size(); ++pc) {
      const Inst &split = code[pc], &body = code[pc + 1], &jmp = code[pc + 2];
      loop[pc] = split.op == Op::kSplit && split.x == pc + 1 && split.y == pc + 3 &&
                 (body.op == Op::kChar || body.op == Op::kClass || body.op == Op::kAny) && jmp.op == Op::kJmp &&
                 jmp.x == pc;
    }
  }
  // The instructions that can consume the first character of a match run from `start`; false when a match, an
  // assertion or a lookahead can come first (then nothing can be ruled out by the first character).
  bool first_consumers(uint32_t start, std::vector<uint32_t>& out) const {
    out.clear();
    std::vector<uint8_t> seen(code.size());
    std::vector<uint32_t> work{start};
    while (!work.empty()) {
      const uint32_t pc = work.back();
      work.pop_back();
      if (seen[pc]) continue;
      seen[pc] = 1;
      const Inst& in = code[pc];
      if (in.op == Op::kSplit) {
        work.push_back(in.x);
        work.push_back(in.y);
      } else if (in.op == Op::kJmp) {
        work.push_back(in.x);
      } else if (in.op == Op::kChar || in.op == Op::kClass || in.op == Op::kAny) {
        out.push_back(pc);
      } else {
        out.clear();
        return false;
      }
    }
    return true;
  }
  std::array<uint64_t, 2> ascii_mask(const std::vector<uint32_t>& consumers) const {
    std::array<uint64_t, 2> mask{};
    for (char32_t c = 0; c < 128; ++c)
      for (uint32_t pc : consumers)
        if (accepts(code[pc], c)) mask[c >> 6] |= uint64_t(1) << (c & 63);
    return mask;
  }
  void find_first_instructions() {
    if (!first_consumers(0, first)) return;
    first_filter = true;
    ascii_first = ascii_mask(first);
    if (first.size() > 8) first.clear();  // past that, checking a non-ASCII character costs about an attempt
  }

  // Per split target (of programs up to kMaxAnalysed instructions): the ASCII characters a match from there can
  // start with, when every path from there consumes one first. The unmemoised attempt skips a branch whose set
  // rules out the character at hand (or the end of the text): that branch would only fail.
  struct StartSet {
    bool consumes_first = false;
    std::array<uint64_t, 2> ascii{};
  };
  std::vector<StartSet> starts;
  static constexpr size_t kMaxAnalysed = 4000;
  void find_start_sets() {
    if (code.size() > kMaxAnalysed) return;
    starts.assign(code.size(), StartSet{});
    std::vector<uint32_t> consumers;
    for (const Inst& in : code) {
      if (in.op != Op::kSplit) continue;
      for (uint32_t target : {in.x, in.y}) {
        StartSet& set = starts[target];
        if (set.consumes_first || !first_consumers(target, consumers)) continue;
        set.consumes_first = true;
        set.ascii = ascii_mask(consumers);
      }
    }
  }
  bool may_start(uint32_t pc, std::u32string_view text, size_t pos) const {
    if (starts.empty() || !starts[pc].consumes_first) return true;
    if (pos == text.size()) return false;
    const char32_t c = text[pos];
    return c >= 128 || ((starts[pc].ascii[c >> 6] >> (c & 63)) & 1);
  }
};

namespace {

bool is_word_char(char32_t c) { return c < 128 ? (c == '_' || (c | 0x20) - 'a' < 26 || c - '0' < 10)
                                               : (kWord & bit(general_category(c))) != 0; }

class Parser {
 public:
  Parser(const std::string& source, Regex::Program& program)
      : source_(source), p_(utf8_decode(source)), program_(program) {}

  Node parse() {
    bool fold = false;
    Node n = alternation(0, fold);
    if (i_ < p_.size()) error("unbalanced ')'");
    return n;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail("regex \"", source_, "\": ", what, " at character ", i_, " (supported: Oniguruma syntax as tokenizer.json "
         "Split patterns use it: | ( ) (?: ) (?i: ) (?= ) (?! ), quantifiers, classes, \\s \\d \\w \\p{..})");
  }
  bool at(char32_t c) const { return i_ < p_.size() && p_[i_] == c; }
  bool eat(char32_t c) {
    if (!at(c)) return false;
    ++i_;
    return true;
  }

  Node alternation(int depth, bool& fold) {
    if (depth > kMaxNesting) error("groups nest deeper than " + std::to_string(kMaxNesting));
    Node alt = node(Node::kAlternation);
    alt.kids.push_back(sequence(depth, fold));
    while (eat('|')) alt.kids.push_back(sequence(depth, fold));
    return alt.kids.size() == 1 ? std::move(alt.kids[0]) : std::move(alt);
  }

  Node sequence(int depth, bool& fold) {
    Node seq = node(Node::kConcat);
    while (i_ < p_.size() && !at('|') && !at(')')) {
      if (p_.compare(i_, 2, U"(?") == 0 && i_ + 2 < p_.size() && (p_[i_ + 2] == 'i' || p_[i_ + 2] == '-')) {
        // (?i) / (?-i) alone sets the flag for the rest of the group; (?i:...) is a group.
        size_t k = i_ + 2;
        bool on = true;
        if (p_[k] == '-') on = false, ++k;
        if (k < p_.size() && p_[k] == 'i' && k + 1 < p_.size() && p_[k + 1] == ')') {
          if (!seq.kids.empty()) error("(?i) after the start of a group (Oniguruma and Perl read it differently)");
          fold = on;
          i_ = k + 2;
          continue;
        }
      }
      Node a = atom(depth, fold);
      quantifier(a);
      seq.kids.push_back(std::move(a));
    }
    return seq.kids.size() == 1 ? std::move(seq.kids[0]) : std::move(seq);
  }

  // A {n}, {n,}, {,m} or {n,m} at i_, or nothing (then '{' is a literal, as in Oniguruma).
  bool interval(int& lo, int& hi) {
    size_t k = i_ + 1;
    auto number = [&](int& v) {
      const size_t start = k;
      long long x = 0;
      while (k < p_.size() && p_[k] >= '0' && p_[k] <= '9') x = std::min<long long>(x * 10 + (p_[k++] - '0'), 1 << 30);
      if (k > start && x > kMaxRepeat) error("repeat count above " + std::to_string(kMaxRepeat));
      v = int(x);
      return k > start;
    };
    const bool has_lo = number(lo);
    if (k < p_.size() && p_[k] == '}') {
      if (!has_lo) return false;
      hi = lo;
    } else if (k < p_.size() && p_[k] == ',') {
      ++k;
      const bool has_hi = number(hi);
      if (!has_lo && !has_hi) return false;
      if (!has_lo) lo = 0;
      if (!has_hi) hi = -1;
      if (k >= p_.size() || p_[k] != '}') return false;
    } else {
      return false;
    }
    if (hi >= 0 && hi < lo) error("{n,m} with m < n");
    i_ = k + 1;
    return true;
  }

  void quantifier(Node& a) {
    int lo = 0, hi = 0;
    if (at('?')) lo = 0, hi = 1, ++i_;
    else if (at('*')) lo = 0, hi = -1, ++i_;
    else if (at('+')) lo = 1, hi = -1, ++i_;
    else if (!(at('{') && interval(lo, hi))) return;
    Node r = node(Node::kRepeat);
    r.min = lo;
    r.max = hi;
    if (eat('?')) r.greedy = false;
    if (at('+') || at('*') || at('?') || at('{')) error("possessive or nested quantifier");
    if (a.kind == Node::kAssert || a.kind == Node::kLookahead) error("quantifier on an assertion");
    r.kids.push_back(std::move(a));
    a = std::move(r);
  }

  Node atom(int depth, bool fold) {
    const char32_t c = p_[i_++];
    switch (c) {
      case '(': return group(depth, fold);
      case '[': return char_class(fold);
      case '.': return node(Node::kAny);
      case '^': return assertion(Assertion::kLineStart);
      case '$': return assertion(Assertion::kLineEnd);
      case '*': case '+': case '?': --i_; error("quantifier with nothing to repeat");
      case '\\': return escape(fold);
      default: return literal(c, fold);
    }
  }

  static Node assertion(Assertion a) {
    Node n = node(Node::kAssert);
    n.assertion = a;
    return n;
  }
  static Node literal(char32_t c, bool fold) {
    Node n = node(Node::kChar);
    n.fold = fold;  // compares case folds: 'S', 's' and U+017F (long s) all fold to 's'
    n.cp = fold ? case_fold(c) : c;
    return n;
  }

  Node group(int depth, bool fold) {
    Node n = node(Node::kConcat);
    bool inner_fold = fold;
    if (eat('?')) {
      if (eat(':')) {
      } else if (at('=') || at('!')) {
        n.kind = Node::kLookahead;
        n.negate = p_[i_++] == '!';
      } else if (at('<') && i_ + 1 < p_.size() && (p_[i_ + 1] == '=' || p_[i_ + 1] == '!')) {
        error("lookbehind (?<= / (?<! is not supported");
      } else if (eat('<') || (eat('P') && eat('<'))) {  // named group: matches as a plain group
        while (i_ < p_.size() && p_[i_] != '>') ++i_;
        if (!eat('>')) error("unterminated group name");
      } else if (at('i') || at('-')) {
        const bool on = !eat('-');
        if (!eat('i') || !eat(':')) error("unsupported group flags (only (?i:...) and (?-i:...))");
        inner_fold = on;
      } else {
        error("unsupported group construct (?" + utf8_encode(std::u32string(1, i_ < p_.size() ? p_[i_] : U'?')) + ")");
      }
    }
    Node body = alternation(depth + 1, inner_fold);
    if (!eat(')')) error("missing ')'");
    if (n.kind == Node::kLookahead) {
      n.kids.push_back(std::move(body));
      return n;
    }
    return body;
  }

  // Escapes that stand for a class: \s \S \d \D \w \W \p{..} \P{..}; false when `c` is none of them.
  bool class_escape(char32_t c, std::vector<ClassItem>& items) {
    ClassItem item;
    item.kind = ClassItem::kCategories;
    switch (c) {
      case 's': case 'S': item.kind = ClassItem::kSpace; item.negate = c == 'S'; break;
      case 'd': case 'D': item.mask = bit(GeneralCategory::kNd); item.negate = c == 'D'; break;
      case 'w': case 'W': item.mask = kWord; item.negate = c == 'W'; break;
      case 'p': case 'P': {
        if (!eat('{')) error("\\p without {name}");
        item.negate = c == 'P';
        if (eat('^')) item.negate = !item.negate;
        std::string name;
        while (i_ < p_.size() && p_[i_] != '}') name += char(p_[i_] < 128 ? p_[i_] : '?'), ++i_;
        if (!eat('}')) error("unterminated \\p{");
        item.mask = property_mask(name);
        if (item.mask == 0) error("unsupported property \\p{" + name + "} (general categories only)");
        break;
      }
      default: return false;
    }
    items.push_back(item);
    return true;
  }

  // A single-character escape (\n, \x41, \., ...) after the backslash; `in_class` reads \b as backspace.
  char32_t char_escape(char32_t c, bool in_class) {
    auto hex = [&](size_t max_digits, bool braces) {
      char32_t v = 0;
      size_t n = 0;
      while (i_ < p_.size() && n < max_digits && std::isxdigit(int(p_[i_] < 128 ? p_[i_] : 0))) {
        const char32_t d = p_[i_++];
        v = v * 16 + char32_t(d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10);
        ++n;
      }
      if (n == 0 || (braces && !eat('}'))) error("malformed hex escape");
      if (v > 0x10FFFF) error("code point above U+10FFFF");
      return v;
    };
    switch (c) {
      case 't': return '\t';
      case 'n': return '\n';
      case 'r': return '\r';
      case 'f': return '\f';
      case 'v': return '\v';
      case 'a': return 7;
      case 'e': return 0x1B;
      case '0': return 0;
      case 'x': return eat('{') ? hex(8, true) : hex(2, false);
      case 'u': return hex(4, false);
      case 'b':
        if (in_class) return 8;
        break;
      default:
        if (c >= 128 || !std::isalnum(int(c))) return c;  // \. \\ \- \[ ... stand for themselves
    }
    --i_;
    error("unsupported escape \\" + utf8_encode(std::u32string(1, c)));
  }

  Node escape(bool fold) {
    if (i_ >= p_.size()) error("pattern ends with '\\'");
    const char32_t c = p_[i_++];
    switch (c) {
      case 'A': return assertion(Assertion::kTextStart);
      case 'z': return assertion(Assertion::kTextEnd);
      case 'Z': return assertion(Assertion::kTextEndBeforeNewline);
      case 'b': return assertion(Assertion::kWordBoundary);
      case 'B': return assertion(Assertion::kNotWordBoundary);
      default: break;
    }
    CharClass cls;
    if (class_escape(c, cls.items)) return add_class(std::move(cls), fold);
    return literal(char_escape(c, false), fold);
  }

  Node add_class(CharClass cls, bool fold) {
    cls.fold = fold;
    cls.finish();
    Node n = node(Node::kClass);
    n.cls = int(program_.classes.size());
    program_.classes.push_back(std::move(cls));
    return n;
  }

  Node char_class(bool fold) {
    CharClass cls;
    cls.negate = eat('^');
    bool first = true;
    for (;;) {
      if (i_ >= p_.size()) error("missing ']'");
      char32_t c = p_[i_++];
      if (c == ']' && !first) break;
      first = false;
      if (c == '[') error("nested class or [:name:] inside a class");
      if (c == '&' && at('&')) error("class intersection &&");
      if (c == '\\') {
        if (i_ >= p_.size()) error("pattern ends with '\\'");
        const char32_t e = p_[i_++];
        if (class_escape(e, cls.items)) continue;
        c = char_escape(e, true);
      }
      char32_t hi = c;
      if (at('-') && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        hi = p_[i_++];
        if (hi == '[') error("nested class inside a class");
        if (hi == '\\') {
          if (i_ >= p_.size()) error("pattern ends with '\\'");
          const char32_t e = p_[i_++];
          if (e == 's' || e == 'S' || e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 'p' || e == 'P')
            error("a class escape as a range end");
          hi = char_escape(e, true);
        }
        if (hi < c) error("range out of order in a class");
      }
      cls.items.push_back(ClassItem{ClassItem::kRange, false, c, hi, 0});
    }
    return add_class(std::move(cls), fold);
  }

  const std::string& source_;
  std::u32string p_;
  size_t i_ = 0;
  Regex::Program& program_;
};

class Compiler {
 public:
  Compiler(const std::string& source, Regex::Program& program) : source_(source), code_(program.code) {}

  void compile(const Node& root) {
    emit(root);
    add({Op::kMatch, 0, 0, 0});
  }

 private:
  uint32_t here() const { return uint32_t(code_.size()); }
  uint32_t add(Inst inst) {
    if (code_.size() >= kMaxInstructions)
      fail("regex \"", source_, "\": compiles to more than ", kMaxInstructions,
           " instructions (repeat counts too large)");
    code_.push_back(inst);
    return here() - 1;
  }

  void emit(const Node& n) {
    switch (n.kind) {
      case Node::kEmpty: return;
      case Node::kChar: add({Op::kChar, uint8_t(n.fold), n.cp, 0}); return;
      case Node::kClass: add({Op::kClass, 0, uint32_t(n.cls), 0}); return;
      case Node::kAny: add({Op::kAny, 0, 0, 0}); return;
      case Node::kAssert: add({Op::kAssert, uint8_t(n.assertion), 0, 0}); return;
      case Node::kConcat:
        for (const auto& k : n.kids) emit(k);
        return;
      case Node::kAlternation: {
        std::vector<uint32_t> jumps;
        for (size_t k = 0; k < n.kids.size(); ++k) {
          const bool last = k + 1 == n.kids.size();
          const uint32_t split = last ? 0 : add({Op::kSplit, 0, 0, 0});
          if (!last) code_[split].x = here();
          emit(n.kids[k]);
          if (!last) {
            jumps.push_back(add({Op::kJmp, 0, 0, 0}));
            code_[split].y = here();
          }
        }
        for (uint32_t j : jumps) code_[j].x = here();
        return;
      }
      case Node::kLookahead: {
        const uint32_t look = add({Op::kLook, uint8_t(n.negate), 0, 0});
        code_[look].x = here();
        emit(n.kids[0]);
        add({Op::kMatch, 0, 0, 0});
        code_[look].y = here();
        return;
      }
      case Node::kRepeat: {
        for (int k = 0; k < n.min; ++k) emit(n.kids[0]);
        if (n.max < 0) {  // L: split(body, exit); body; jmp L
          const uint32_t loop = add({Op::kSplit, 0, 0, 0});
          emit(n.kids[0]);
          add({Op::kJmp, 0, loop, 0});
          set_split(loop, loop + 1, here(), n.greedy);
          return;
        }
        std::vector<uint32_t> splits;  // x{0,m-n} as (x(x(...)?)?)?: each skip leaves the whole repeat
        for (int k = n.min; k < n.max; ++k) {
          splits.push_back(add({Op::kSplit, 0, 0, 0}));
          emit(n.kids[0]);
        }
        for (uint32_t s : splits) set_split(s, s + 1, here(), n.greedy);
        return;
      }
    }
  }

  void set_split(uint32_t at, uint32_t body, uint32_t exit, bool greedy) {
    code_[at].x = greedy ? body : exit;
    code_[at].y = greedy ? exit : body;
  }

  const std::string& source_;
  std::vector<Inst>& code_;
};

// Which (instruction, position) pairs an attempt has tried: a second visit can only fail again.
class Memo {
 public:
  void start(size_t width, size_t origin) {
    width_ = width;
    origin_ = origin;
    used_ = 0;
  }
  // True on the first visit of (pc, pos) in this attempt.
  bool first_visit(uint32_t pc, size_t pos) {
    const size_t index = (pos - origin_) * width_ + pc;
    if (index >= kMaxMemoBits) return true;
    if (index / 64 >= bits_.size())
      bits_.resize(std::min(kMaxMemoBits / 64, std::max(index / 64 + 1, bits_.size() * 2)));
    used_ = std::max(used_, index / 64 + 1);
    uint64_t& word = bits_[index / 64];
    const uint64_t mask = uint64_t(1) << (index % 64);
    if (word & mask) return false;
    word |= mask;
    return true;
  }
  void clear() { std::fill(bits_.begin(), bits_.begin() + long(used_), 0); used_ = 0; }

 private:
  std::vector<uint64_t> bits_;
  size_t width_ = 0, origin_ = 0, used_ = 0;
};

class Machine {
 public:
  Machine(const Regex::Program& program, const std::string& pattern, std::u32string_view text,
          bool memoised_only = false)
      : prog_(program), pattern_(pattern), text_(text), budget_(kBaseSteps + kStepsPerChar * text.size()),
        memoised_only_(memoised_only) {}

  // The first match at or after `from`: (start, end). A state (instruction, position) that failed in one attempt
  // fails in every later one (no captures, no lookbehind), so the memo is kept across the attempts of a search:
  // a search that finds nothing costs at most (program size x text length) steps, like RE2's bit-state search.
  std::optional<size_t> match_at(size_t start) {
    level(0).memo.start(prog_.code.size(), start);
    const auto end = run(0, start, 0);
    level(0).memo.clear();
    return end;
  }

  std::optional<std::pair<size_t, size_t>> search(size_t from) {
    level(0).memo.start(prog_.code.size(), from);
    std::optional<std::pair<size_t, size_t>> found;
    for (size_t s = from; s <= text_.size() && !found; ++s) {
      if (prog_.first_filter && (s == text_.size() || !prog_.can_start(text_[s]))) continue;
      if (auto end = run(0, s, 0)) found = std::pair(s, *end);
    }
    level(0).memo.clear();
    return found;
  }

 private:
  // A state to try: `pc` at `pos`, then (the exits of a scanned loop) at pos - 1, ..., down to `lowest`.
  struct Frame {
    uint32_t pc;
    size_t pos, lowest;
  };
  struct Level {
    Memo memo;
    std::vector<Frame> stack;
  };
  Level& level(size_t depth) {
    if (levels_.size() <= depth) levels_.resize(depth + 1);  // a deque: the callers' levels stay in place
    return levels_[depth];
  }

  // (?=body) / (?!body) at pos: whether the body matches there, with a memo of its own.
  bool lookahead(uint32_t body, size_t pos, size_t depth) {
    if (depth > size_t(kMaxNesting) + 1) fail("regex \"", pattern_, "\": lookaheads nest too deep");
    level(depth).memo.start(prog_.code.size(), pos);
    const bool found = run(body, pos, depth).has_value();
    level(depth).memo.clear();
    return found;
  }

  static constexpr size_t kNoMatch = SIZE_MAX, kGaveUp = SIZE_MAX - 1;

  // The end of the leftmost-first match of the program from `pc0` at `pos0`, or nothing; the caller starts and
  // clears the level's memo. The unmemoised attempt explores the same states in the same order, only without
  // skipping the ones already failed, so when it finishes its answer is the memoised attempt's.
  // After one attempt gives up, the text or pattern is not a common one: the rest run memoised only.
  std::optional<size_t> run(uint32_t pc0, size_t pos0, size_t depth) {
    size_t end = memoised_only_ ? kGaveUp : attempt<false>(pc0, pos0, depth);
    if (end == kGaveUp) {
      memoised_only_ = true;
      end = attempt<true>(pc0, pos0, depth);
    }
    return end == kNoMatch ? std::nullopt : std::optional<size_t>(end);
  }

  template <bool kMemo>
  size_t attempt(uint32_t pc0, size_t pos0, size_t depth) {
    Level& level = this->level(depth);
    level.stack.clear();
    level.stack.push_back({pc0, pos0, pos0});
    uint64_t unmemoised_steps = 0;
    while (!level.stack.empty()) {
      Frame& top = level.stack.back();
      uint32_t pc = top.pc;
      size_t pos = top.pos;
      if (top.pos > top.lowest) --top.pos;
      else level.stack.pop_back();
      for (;;) {
        if constexpr (kMemo) {
          if (!level.memo.first_visit(pc, pos)) break;
          if (++steps_ > budget_)
            fail("regex \"", pattern_, "\" takes more than ", budget_, " steps on a text of ", text_.size(),
                 " characters (catastrophic backtracking)");
        } else {
          if (++unmemoised_steps > kUnmemoisedSteps) return kGaveUp;
        }
        const Inst& in = prog_.code[pc];
        bool advance = false;
        switch (in.op) {
          case Op::kChar:
          case Op::kClass:
          case Op::kAny: advance = pos < text_.size() && prog_.accepts(in, text_[pos]); break;
          case Op::kSplit:
            if (!kMemo && prog_.loop[pc]) {  // greedy x*: take the longest run, the shorter ones on backtracking
              const Inst& body = prog_.code[pc + 1];
              const size_t limit = pos + std::min<size_t>(text_.size() - pos, kUnmemoisedSteps - unmemoised_steps);
              size_t end = pos;
              while (end < limit && prog_.accepts(body, text_[end])) ++end;
              if (end == limit && limit < text_.size()) return kGaveUp;  // the scan ran out of steps
              unmemoised_steps += end - pos;
              if (end > pos) level.stack.push_back({in.y, end - 1, pos});
              pc = in.y;
              pos = end;
              continue;
            }
            if (!kMemo && !prog_.may_start(in.y, text_, pos)) {  // the second branch cannot match here
              if (!prog_.may_start(in.x, text_, pos)) break;
              pc = in.x;
              continue;
            }
            if (!kMemo && !prog_.may_start(in.x, text_, pos)) {
              pc = in.y;
              continue;
            }
            level.stack.push_back({in.y, pos, pos});
            pc = in.x;
            continue;
          case Op::kJmp: pc = in.x; continue;
          case Op::kLook:
            if (lookahead(in.x, pos, depth + 1) == bool(in.flag)) break;  // (?=) that failed, or (?!) that matched
            pc = in.y;
            continue;
          case Op::kAssert:
            if (!holds(Assertion(in.flag), pos)) break;
            ++pc;
            continue;
          case Op::kMatch: return pos;
        }
        if (!advance) break;
        ++pc;
        ++pos;
      }
    }
    return kNoMatch;
  }

  bool holds(Assertion a, size_t pos) const {
    const size_t n = text_.size();
    switch (a) {
      case Assertion::kLineStart: return pos == 0 || text_[pos - 1] == '\n';
      case Assertion::kLineEnd: return pos == n || text_[pos] == '\n';
      case Assertion::kTextStart: return pos == 0;
      case Assertion::kTextEnd: return pos == n;
      case Assertion::kTextEndBeforeNewline: return pos == n || (pos + 1 == n && text_[pos] == '\n');
      case Assertion::kWordBoundary:
      case Assertion::kNotWordBoundary: {
        const bool before = pos > 0 && is_word_char(text_[pos - 1]), after = pos < n && is_word_char(text_[pos]);
        return (before != after) == (a == Assertion::kWordBoundary);
      }
    }
    return false;
  }

  const Regex::Program& prog_;
  const std::string& pattern_;
  std::u32string_view text_;
  uint64_t steps_ = 0, budget_;
  bool memoised_only_;
  std::deque<Level> levels_;
};

// Every match, as Oniguruma's find_iter yields them (Regex::find_all).
std::vector<std::pair<size_t, size_t>> find_all_on(Machine& m, std::u32string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  std::optional<size_t> last_match_end;
  size_t from = 0;
  while (from <= text.size()) {
    const auto found = m.search(from);
    if (!found) break;
    const auto [start, end] = *found;
    if (start == end && last_match_end == end) {  // no empty match right after the previous one: step on
      ++from;
      continue;
    }
    from = end;
    last_match_end = end;
    out.push_back(*found);
  }
  return out;
}

}  // namespace

Regex::Regex(const std::string& pattern) : pattern_(pattern) {
  auto program = std::make_shared<Program>();
  const Node root = Parser(pattern_, *program).parse();
  Compiler(pattern_, *program).compile(root);
  program->find_first_instructions();
  program->find_loops();
  program->find_start_sets();
  program_ = std::move(program);
}

Regex Regex::literal(const std::string& literal) {
  std::string escaped;
  for (char c : literal) {
    if (static_cast<unsigned char>(c) < 128 && !std::isalnum(static_cast<unsigned char>(c))) escaped += '\\';
    escaped += c;
  }
  return Regex(escaped);
}

std::optional<size_t> Regex::match_at(std::u32string_view text, size_t start) const {
  return Machine(*program_, pattern_, text).match_at(start);
}

std::optional<std::pair<size_t, size_t>> Regex::search(std::u32string_view text, size_t from) const {
  return Machine(*program_, pattern_, text).search(from);
}

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::u32string_view text) const {
  Machine m(*program_, pattern_, text);  // one step budget for the whole text
  return find_all_on(m, text);
}

std::vector<std::pair<size_t, size_t>> Regex::find_all_memoised(std::u32string_view text) const {
  Machine m(*program_, pattern_, text, true);
  return find_all_on(m, text);
}

}  // namespace tandem
