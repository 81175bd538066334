// The syntax tree of a template: one Node type whose kind says which fields it uses (listed per kind below),
// mirroring @huggingface/jinja's ast.ts.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace tandem::jinja {

enum class Kind {
  // statements
  kText,        // str
  kComment,     //
  kSet,         // a = target, b = value (null: block set, body)
  kIf,          // a = test, body, alt
  kFor,         // a = loop variable(s), b = iterable, body, alt = else block
  kMacro,       // str = name, args = parameters, body
  kCallBlock,   // a = call expression, args = caller parameters, body
  kFilterBlock, // a = filter (identifier or call), body
  kBreak,
  kContinue,
  // expressions
  kInt,         // num
  kFloat,       // num
  kString,      // str
  kArray,       // body = items
  kTuple,       // body = items
  kObject,      // body = keys, alt = values
  kIdentifier,  // str
  kCall,        // a = callee, args
  kMember,      // a = object, b = property, computed
  kUnary,       // str = operator, a
  kBinary,      // str = operator, a, b
  kFilter,      // a = operand, b = filter (identifier or call)
  kTest,        // a = operand, str = test name, negate
  kSelect,      // a = value, b = condition ("x for x in xs if c" / "a if c")
  kTernary,     // a = condition, b = if true, c = if false
  kSlice,       // a, b, c = start, stop, step (each may be null)
  kKeywordArg,  // str = name, a = value
  kSpread,      // a  (*xs)
  kKeywordSpread,  // a  (**d)
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  Kind kind;
  int line = 0;
  std::string str;
  double num = 0;
  bool computed = false;  // kMember: x[y] rather than x.y
  bool negate = false;    // kTest: "is not"
  NodePtr a, b, c;
  std::vector<NodePtr> body, alt, args;
};

const char* kind_name(Kind k);

}  // namespace tandem::jinja
