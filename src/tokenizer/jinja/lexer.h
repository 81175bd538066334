// Template text -> tokens, as @huggingface/jinja's lexer with trim_blocks and lstrip_blocks (what transformers
// configures jinja2 with): a trailing newline dropped, spaces before a block tag at a line start stripped, the newline
// after a block tag removed, {%- -%} {{- -}} {#- -#} strip whitespace, transformers' {% generation %} tags removed.
// Every token carries the line of the original template it came from, for error messages.
#pragma once
#include <string>
#include <vector>

namespace tandem::jinja {

enum class Tok {
  kText, kNumber, kString, kIdentifier, kEquals, kOpenParen, kCloseParen, kOpenStatement, kCloseStatement,
  kOpenExpression, kCloseExpression, kOpenSquare, kCloseSquare, kOpenCurly, kCloseCurly, kComma, kDot, kColon,
  kPipe, kAdditive, kMultiplicative, kPower, kComparison, kUnary, kComment
};

struct Token {
  Tok type;
  std::string value;
  int line;
};

// Throws tandem::Error naming the line for an unexpected character or an unterminated string or comment.
std::vector<Token> tokenize(const std::string& source);

}  // namespace tandem::jinja
