// Runs a parsed template, with @huggingface/jinja's runtime semantics (runtime.ts): scopes, statements, operators,
// filters, tests and the methods of strings and dicts. Limits bound what a hostile template can make it do.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace tandem::jinja {

struct Limits {
  int64_t max_steps = 5'000'000;      // evaluations, loop iterations and list items made, per render
  size_t max_text = size_t{32} << 20;  // bytes of output, and of any one string
  size_t max_items = size_t{1} << 20;  // items of any one list (range(), +)
  int max_call_depth = 64;             // nested macro calls
};

// A scope: variables here, then the parent's. Loops and macros open one; `set` writes the innermost.
class Env {
 public:
  explicit Env(EnvPtr parent = nullptr) : parent_(std::move(parent)) {}
  Value lookup(const std::string& name) const;
  void set(const std::string& name, Value v) { vars_[name] = std::move(v); }

 private:
  EnvPtr parent_;
  std::unordered_map<std::string, Value> vars_;
};

class Interpreter {
 public:
  explicit Interpreter(Limits limits) : limits_(limits) {}
  // Namespaces are the only values a template can mutate, so every reference cycle it can build
  // ({% set ns.me = ns %}) runs through one: emptying them all at the end frees what the cycles hold.
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
  void adopt_namespace(std::shared_ptr<Dict> ns) { namespaces_.push_back(std::move(ns)); }
  std::string run(const std::vector<NodePtr>& program, const EnvPtr& globals);

  // Used by builtins: the error prefix names the template line being evaluated.
  [[noreturn]] void error(const std::string& what) const;
  void check_text(size_t bytes) const;
  void check_items(size_t n) const;
  // Counts `n` units of work (an evaluation, a loop iteration, a list item made) against Limits::max_steps.
  void charge(size_t n = 1);

 private:
  Limits limits_;
  int64_t steps_ = 0;
  int line_ = 0;
  int call_depth_ = 0;
  std::vector<std::shared_ptr<Dict>> namespaces_;

  Value eval(const NodePtr& n, const EnvPtr& env);
  std::string block(const std::vector<NodePtr>& nodes, const EnvPtr& env);
  Value binary(const Node& n, const EnvPtr& env);
  Value unary(const Node& n, const EnvPtr& env);
  Value member(const Node& n, const EnvPtr& env);
  Value slice(const Value& object, const Node& n, const EnvPtr& env);
  Value call(const Node& n, const EnvPtr& env);
  Value invoke(const Value& fn, std::vector<Value>& args, const EnvPtr& env);
  std::pair<std::vector<Value>, Dict> arguments(const std::vector<NodePtr>& args, const EnvPtr& env);
  Value set(const Node& n, const EnvPtr& env);
  std::string for_loop(const Node& n, const EnvPtr& env);
  Value macro(const Node& n, const EnvPtr& env);
  Value call_block(const Node& n, const EnvPtr& env);
  void bind_arguments(const std::string& name, const std::vector<NodePtr>& params, bool uses_kwargs,
                      bool uses_varargs, std::vector<Value> args, const EnvPtr& scope);
  Value test(const Node& n, const EnvPtr& env);
  Value filter(Value operand, const NodePtr& filter, const EnvPtr& env);  // filters.cpp
};

// Builtins (builtins.cpp): the tests of `x is name`, members of values (string and dict methods, list.length), and
// the globals every render starts with.
bool run_test(Interpreter& in, const std::string& name, const Value& operand, const Value* arg);
bool has_test(const std::string& name);
Value builtin_member(Interpreter& in, const Value& object, const std::string& name);  // undefined when none
void add_globals(Interpreter& in, Env& env, const std::function<std::string(const std::string&)>& strftime_now);
int compare_values(Interpreter& in, const Value& a, const Value& b, bool case_sensitive);
Value attribute_path(const Value& item, const std::string& path);  // "a.b.0" into dicts and lists

}  // namespace tandem::jinja
