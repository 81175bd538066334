#include "tokenizer/jinja/parser.h"

#include <cstdlib>
#include <set>

#include "core/check.h"

namespace tandem::jinja {

const char* kind_name(Kind k) {
  static const char* names[] = {"text", "comment", "set", "if", "for", "macro", "call", "filter", "break",
                                "continue", "integer", "float", "string", "list", "tuple", "dict", "identifier",
                                "call expression", "member", "unary", "binary", "filter expression", "test",
                                "select", "ternary", "slice", "keyword argument", "*", "**"};
  return names[static_cast<int>(k)];
}

namespace {

using Nodes = std::vector<NodePtr>;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& t) : t_(t) {}

  Nodes program() {
    Nodes out;
    while (at_ < t_.size()) out.push_back(any());
    return out;
  }

 private:
  const std::vector<Token>& t_;
  size_t at_ = 0;
  int depth_ = 0;

  struct Deeper {
    Parser& p;
    explicit Deeper(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxParseDepth) p.error(std::string("nesting deeper than ") + std::to_string(kMaxParseDepth));
    }
    ~Deeper() { --p.depth_; }
  };

  int line() const { return t_.empty() ? 1 : t_[std::min(at_, t_.size() - 1)].line; }
  [[noreturn]] void error(const std::string& what) const { fail("chat template line ", line(), ": ", what); }
  const Token& peek() const {
    if (at_ >= t_.size()) error("unexpected end of template");
    return t_[at_];
  }
  const Token& next() {
    const Token& tok = peek();
    ++at_;
    return tok;
  }
  bool is(Tok a) const { return at_ < t_.size() && t_[at_].type == a; }
  bool is_ident(const char* name, size_t ahead = 0) const {
    return at_ + ahead < t_.size() && t_[at_ + ahead].type == Tok::kIdentifier && t_[at_ + ahead].value == name;
  }
  bool is_statement(std::initializer_list<const char*> names) const {
    if (!is(Tok::kOpenStatement) || at_ + 1 >= t_.size() || t_[at_ + 1].type != Tok::kIdentifier) return false;
    for (const char* n : names)
      if (t_[at_ + 1].value == n) return true;
    return false;
  }
  void expect(Tok type, const char* what) {
    if (at_ >= t_.size()) error(std::string("expected ") + what + " before the end of the template");
    if (t_[at_].type != type) error(std::string("expected ") + what + ", got '" + t_[at_].value + "'");
    ++at_;
  }
  void expect_ident(const char* name) {
    if (!is_ident(name)) error(std::string("expected '") + name + "'");
    ++at_;
  }
  std::shared_ptr<Node> node(Kind k, int line) {
    auto n = std::make_shared<Node>();
    n->kind = k;
    n->line = line;
    return n;
  }
  // Statements until one of `ends` ({% end... %}); running out of tokens names the missing tag.
  Nodes block_until(std::initializer_list<const char*> ends, const char* missing) {
    Nodes out;
    while (!is_statement(ends)) {
      if (at_ >= t_.size()) error(std::string("missing {% ") + missing + " %}");
      out.push_back(any());
    }
    return out;
  }
  void end_tag(const char* name) {
    expect(Tok::kOpenStatement, "{%");
    expect_ident(name);
    expect(Tok::kCloseStatement, "%}");
  }

  NodePtr any() {
    Deeper d(*this);
    const Token& tok = peek();
    switch (tok.type) {
      case Tok::kComment: {
        ++at_;
        return node(Kind::kComment, tok.line);
      }
      case Tok::kText: {
        auto n = node(Kind::kText, tok.line);
        n->str = next().value;
        return n;
      }
      case Tok::kOpenStatement: return statement();
      case Tok::kOpenExpression: {
        ++at_;
        NodePtr e = expression();
        expect(Tok::kCloseExpression, "}}");
        return e;
      }
      default: error("unexpected '" + tok.value + "'");
    }
  }

  NodePtr statement() {
    expect(Tok::kOpenStatement, "{%");
    const Token& name_tok = peek();
    if (name_tok.type != Tok::kIdentifier) error("expected a statement name after {%, got '" + name_tok.value + "'");
    const std::string name = name_tok.value;
    const int ln = name_tok.line;
    ++at_;
    if (name == "set") return set_statement(ln);
    if (name == "if") {
      NodePtr n = if_statement(ln);
      end_tag("endif");
      return n;
    }
    if (name == "macro") {
      auto n = node(Kind::kMacro, ln);
      NodePtr id = primary();
      if (id->kind != Kind::kIdentifier) error("expected a name after macro");
      n->str = id->str;
      n->args = arguments(true);
      expect(Tok::kCloseStatement, "%}");
      n->body = block_until({"endmacro"}, "endmacro");
      end_tag("endmacro");
      return n;
    }
    if (name == "for") {
      NodePtr n = for_statement(ln);
      end_tag("endfor");
      return n;
    }
    if (name == "call") {
      auto n = node(Kind::kCallBlock, ln);
      if (is(Tok::kOpenParen)) n->args = arguments(true);
      NodePtr callee = primary();
      if (callee->kind != Kind::kIdentifier) error("expected a macro name after call");
      auto call = node(Kind::kCall, ln);
      call->a = callee;
      call->args = arguments(false);
      n->a = call;
      expect(Tok::kCloseStatement, "%}");
      n->body = block_until({"endcall"}, "endcall");
      end_tag("endcall");
      return n;
    }
    if (name == "break" || name == "continue") {
      expect(Tok::kCloseStatement, "%}");
      return node(name == "break" ? Kind::kBreak : Kind::kContinue, ln);
    }
    if (name == "filter") {
      auto n = node(Kind::kFilterBlock, ln);
      NodePtr f = primary();
      if (f->kind == Kind::kIdentifier && is(Tok::kOpenParen)) f = call(f);
      n->a = f;
      expect(Tok::kCloseStatement, "%}");
      n->body = block_until({"endfilter"}, "endfilter");
      end_tag("endfilter");
      return n;
    }
    error("unsupported statement {% " + name + " %}");
  }

  NodePtr set_statement(int ln) {
    auto n = node(Kind::kSet, ln);
    n->a = sequence(false);
    if (is(Tok::kEquals)) {
      ++at_;
      n->b = sequence(false);
    } else {
      expect(Tok::kCloseStatement, "%}");
      n->body = block_until({"endset"}, "endset");
      expect(Tok::kOpenStatement, "{%");
      expect_ident("endset");
    }
    expect(Tok::kCloseStatement, "%}");
    return n;
  }

  NodePtr if_statement(int ln) {
    Deeper d(*this);
    auto n = node(Kind::kIf, ln);
    n->a = expression();
    expect(Tok::kCloseStatement, "%}");
    n->body = block_until({"elif", "else", "endif"}, "endif");
    if (is_statement({"elif"})) {
      const int elif_line = t_[at_ + 1].line;
      at_ += 2;
      n->alt.push_back(if_statement(elif_line));
    } else if (is_statement({"else"})) {
      at_ += 2;
      expect(Tok::kCloseStatement, "%}");
      n->alt = block_until({"endif"}, "endif");
    }
    return n;
  }

  NodePtr for_statement(int ln) {
    auto n = node(Kind::kFor, ln);
    n->a = sequence(true);
    if (n->a->kind != Kind::kIdentifier && n->a->kind != Kind::kTuple)
      error("expected a name or a tuple of names as the loop variable");
    if (!is_ident("in")) error("expected 'in' after the loop variable");
    ++at_;
    n->b = expression();
    expect(Tok::kCloseStatement, "%}");
    n->body = block_until({"endfor", "else"}, "endfor");
    if (is_statement({"else"})) {
      at_ += 2;
      expect(Tok::kCloseStatement, "%}");
      n->alt = block_until({"endfor"}, "endfor");
    }
    return n;
  }

  NodePtr sequence(bool primary_only) {
    const int ln = line();
    Nodes items{primary_only ? primary() : expression()};
    const bool tuple = is(Tok::kComma);
    while (tuple) {
      ++at_;
      items.push_back(primary_only ? primary() : expression());
      if (!is(Tok::kComma)) break;
    }
    if (!tuple) return items[0];
    auto n = node(Kind::kTuple, ln);
    n->body = std::move(items);
    return n;
  }

  NodePtr expression() {
    Deeper d(*this);
    return if_expression();
  }

  NodePtr if_expression() {
    NodePtr a = logical_or();
    if (!is_ident("if")) return a;
    const int ln = line();
    ++at_;
    NodePtr test = logical_or();
    if (is_ident("else")) {
      ++at_;
      auto n = node(Kind::kTernary, ln);
      n->a = test;
      n->b = a;
      n->c = if_expression();
      return n;
    }
    auto n = node(Kind::kSelect, ln);
    n->a = a;
    n->b = test;
    return n;
  }

  NodePtr binary(const std::string& op, NodePtr l, NodePtr r, int ln) {
    auto n = node(Kind::kBinary, ln);
    n->str = op;
    n->a = std::move(l);
    n->b = std::move(r);
    return n;
  }

  NodePtr logical_or() {
    NodePtr left = logical_and();
    while (is_ident("or")) {
      const int ln = next().line;
      left = binary("or", left, logical_and(), ln);
    }
    return left;
  }
  NodePtr logical_and() {
    NodePtr left = logical_not();
    while (is_ident("and")) {
      const int ln = next().line;
      left = binary("and", left, logical_not(), ln);
    }
    return left;
  }
  NodePtr logical_not() {
    Deeper d(*this);
    std::shared_ptr<Node> right;
    while (is_ident("not")) {
      const int ln = next().line;
      NodePtr arg = logical_not();
      right = node(Kind::kUnary, ln);
      right->str = "not";
      right->a = arg;
    }
    if (right) return right;
    return comparison();
  }
  NodePtr comparison() {
    NodePtr left = additive();
    while (true) {
      std::string op;
      const int ln = line();
      if (is_ident("not") && is_ident("in", 1)) {
        op = "not in";
        at_ += 2;
      } else if (is_ident("in")) {
        op = "in";
        ++at_;
      } else if (is(Tok::kComparison)) {
        op = next().value;
      } else {
        break;
      }
      left = binary(op, left, additive(), ln);
    }
    return left;
  }
  NodePtr additive() {
    NodePtr left = multiplicative();
    while (is(Tok::kAdditive)) {
      const Token& op = next();
      left = binary(op.value, left, multiplicative(), op.line);
    }
    return left;
  }
  NodePtr multiplicative() {
    NodePtr left = power();
    while (is(Tok::kMultiplicative)) {
      const Token& op = next();
      left = binary(op.value, left, power(), op.line);
    }
    return left;
  }
  NodePtr power() {
    NodePtr left = test();
    while (is(Tok::kPower)) {
      const Token& op = next();
      left = binary(op.value, left, test(), op.line);
    }
    return left;
  }
  NodePtr test() {
    NodePtr operand = filter();
    while (is_ident("is")) {
      const int ln = next().line;
      const bool negate = is_ident("not");
      if (negate) ++at_;
      NodePtr name = primary();
      if (name->kind != Kind::kIdentifier) error("expected a test name after 'is'");
      auto n = node(Kind::kTest, ln);
      n->a = operand;
      n->str = name->str;
      n->negate = negate;
      operand = n;
    }
    return operand;
  }
  NodePtr filter() {
    NodePtr operand = unary_sign();
    while (is(Tok::kPipe)) {
      const int ln = next().line;
      NodePtr f = primary();
      if (f->kind != Kind::kIdentifier) error("expected a filter name after '|'");
      if (is(Tok::kOpenParen)) f = call(f);
      auto n = node(Kind::kFilter, ln);
      n->a = operand;
      n->b = f;
      operand = n;
    }
    return operand;
  }
  NodePtr unary_sign() {
    Deeper d(*this);
    if (at_ < t_.size() && (t_[at_].type == Tok::kUnary || t_[at_].type == Tok::kAdditive) &&
        (t_[at_].value == "-" || t_[at_].value == "+")) {
      const Token& op = next();
      auto n = node(Kind::kUnary, op.line);
      n->str = op.value;
      n->a = unary_sign();
      return n;
    }
    return call_member();
  }
  NodePtr call_member() {
    NodePtr m = member(primary());
    if (is(Tok::kOpenParen)) return call(m);
    return m;
  }
  NodePtr call(NodePtr callee) {
    Deeper d(*this);
    auto n = node(Kind::kCall, line());
    n->a = std::move(callee);
    n->args = arguments(false);
    NodePtr e = member(n);
    if (is(Tok::kOpenParen)) e = call(e);
    return e;
  }

  Nodes arguments(bool parameters) {
    expect(Tok::kOpenParen, "(");
    Nodes args;
    std::set<std::string> names;
    bool saw_keyword = false, saw_spread = false;
    while (!is(Tok::kCloseParen)) {
      const int ln = line();
      const bool kw_spread = is(Tok::kPower);
      const bool spread = is(Tok::kMultiplicative) && t_[at_].value == "*";
      if (parameters && (kw_spread || spread)) error("argument unpacking in a parameter list");
      if (kw_spread) {
        ++at_;
        auto n = node(Kind::kKeywordSpread, ln);
        n->a = expression();
        args.push_back(n);
        if (is(Tok::kComma)) ++at_;
        if (!is(Tok::kCloseParen)) error("'**' must be the last argument");
        break;
      }
      NodePtr arg;
      if (spread) {
        if (saw_spread) error("only one '*' argument is allowed");
        saw_spread = true;
        ++at_;
        auto n = node(Kind::kSpread, ln);
        n->a = expression();
        arg = n;
      } else {
        arg = expression();
        if (is(Tok::kEquals)) {
          ++at_;
          if (arg->kind != Kind::kIdentifier) error("expected a name before '=' in an argument list");
          auto kw = node(Kind::kKeywordArg, ln);
          kw->str = arg->str;
          kw->a = expression();
          arg = kw;
        }
        if (parameters) {
          if (arg->kind != Kind::kIdentifier && arg->kind != Kind::kKeywordArg) error("expected a parameter name");
          if (!names.insert(arg->str).second) error("duplicate parameter " + arg->str);
        }
        if (arg->kind == Kind::kKeywordArg) {
          saw_keyword = true;
        } else if (saw_keyword) {
          error(parameters ? "non-default parameter after a default one" : "positional argument after keywords");
        } else if (saw_spread) {
          error("positional argument after '*' unpacking");
        }
      }
      args.push_back(arg);
      if (is(Tok::kComma)) ++at_;
    }
    expect(Tok::kCloseParen, ")");
    return args;
  }

  NodePtr subscript() {
    Nodes slices;
    std::vector<bool> present;
    bool is_slice = false;
    const int ln = line();
    while (!is(Tok::kCloseSquare)) {
      if (is(Tok::kColon)) {
        slices.push_back(nullptr);
        ++at_;
        is_slice = true;
      } else {
        slices.push_back(expression());
        if (is(Tok::kColon)) {
          ++at_;
          is_slice = true;
        }
      }
    }
    if (slices.empty()) error("empty subscript []");
    if (!is_slice) return slices[0];
    if (slices.size() > 3) error("a slice takes at most 3 parts");
    auto n = node(Kind::kSlice, ln);
    n->a = slices[0];
    if (slices.size() > 1) n->b = slices[1];
    if (slices.size() > 2) n->c = slices[2];
    return n;
  }

  NodePtr member(NodePtr object) {
    while (is(Tok::kDot) || is(Tok::kOpenSquare)) {
      const Token& op = next();
      auto n = node(Kind::kMember, op.line);
      n->a = object;
      n->computed = op.type == Tok::kOpenSquare;
      if (n->computed) {
        n->b = subscript();
        expect(Tok::kCloseSquare, "]");
      } else {
        n->b = primary();
        if (n->b->kind != Kind::kIdentifier && n->b->kind != Kind::kInt) error("expected a name after '.'");
      }
      object = n;
    }
    return object;
  }

  NodePtr primary() {
    Deeper d(*this);
    const Token& tok = next();
    switch (tok.type) {
      case Tok::kNumber: {
        const bool is_float = tok.value.find('.') != std::string::npos;
        auto n = node(is_float ? Kind::kFloat : Kind::kInt, tok.line);
        n->num = std::strtod(tok.value.c_str(), nullptr);
        return n;
      }
      case Tok::kString: {
        auto n = node(Kind::kString, tok.line);
        n->str = tok.value;
        while (is(Tok::kString)) n->str += next().value;  // adjacent literals concatenate
        return n;
      }
      case Tok::kIdentifier: {
        auto n = node(Kind::kIdentifier, tok.line);
        n->str = tok.value;
        return n;
      }
      case Tok::kOpenParen: {
        NodePtr e = sequence(false);
        expect(Tok::kCloseParen, ")");
        return e;
      }
      case Tok::kOpenSquare: {
        auto n = node(Kind::kArray, tok.line);
        while (!is(Tok::kCloseSquare)) {
          n->body.push_back(expression());
          if (is(Tok::kComma)) ++at_;
        }
        ++at_;
        return n;
      }
      case Tok::kOpenCurly: {
        auto n = node(Kind::kObject, tok.line);
        while (!is(Tok::kCloseCurly)) {
          n->body.push_back(expression());
          expect(Tok::kColon, "':' between a key and its value");
          n->alt.push_back(expression());
          if (is(Tok::kComma)) ++at_;
        }
        ++at_;
        return n;
      }
      default: error("unexpected '" + tok.value + "'");
    }
  }
};

}  // namespace

std::vector<NodePtr> parse(const std::vector<Token>& tokens) { return Parser(tokens).program(); }

}  // namespace tandem::jinja
