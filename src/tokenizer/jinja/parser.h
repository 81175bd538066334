// Tokens -> syntax tree, following @huggingface/jinja's parser.ts (same precedence, same statement forms).
// An unsupported or malformed construct is a tandem::Error naming it and the template line.
#pragma once
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace tandem::jinja {

// Nesting deeper than this (blocks or expressions) is an error, not a stack overflow.
inline constexpr int kMaxParseDepth = 300;

std::vector<NodePtr> parse(const std::vector<Token>& tokens);

}  // namespace tandem::jinja
