#include "tokenizer/jinja/interpreter.h"

#include <cmath>

#include "core/check.h"
#include "tokenizer/jinja/js_text.h"

namespace tandem::jinja {

namespace {
struct BreakSignal {};
struct ContinueSignal {};
using T = Value::Type;

// Whether a macro (or call block) body reads `kwargs` / `varargs`, which makes it accept extra arguments.
bool reads_name(const NodePtr& n, const std::string& name) {
  if (!n) return false;
  if (n->kind == Kind::kIdentifier && n->str == name) return true;
  if (n->kind == Kind::kMember && !n->computed) return reads_name(n->a, name);
  for (const NodePtr* child : {&n->a, &n->b, &n->c})
    if (reads_name(*child, name)) return true;
  for (const auto* list : {&n->body, &n->alt, &n->args})
    for (const auto& c : *list)
      if (reads_name(c, name)) return true;
  return false;
}
bool body_reads(const std::vector<NodePtr>& body, const std::vector<NodePtr>& params, const std::string& name) {
  for (const auto& p : params)
    if (p->str == name) return false;
  for (const auto& n : body)
    if (reads_name(n, name)) return true;
  return false;
}
}  // namespace

Value Env::lookup(const std::string& name) const {
  for (const Env* e = this; e; e = e->parent_.get()) {
    const auto it = e->vars_.find(name);
    if (it != e->vars_.end()) return it->second;
  }
  return Value::undefined();
}

Interpreter::~Interpreter() {
  for (const auto& ns : namespaces_) ns->clear();
}

void Interpreter::error(const std::string& what) const { fail("chat template line ", line_, ": ", what); }
void Interpreter::check_text(size_t bytes) const {
  if (bytes > limits_.max_text) error(std::string("text longer than ") + std::to_string(limits_.max_text) + " bytes");
}
void Interpreter::charge(size_t n) {
  steps_ += int64_t(n);
  if (steps_ > limits_.max_steps) error(std::string("more than ") + std::to_string(limits_.max_steps) + " evaluation steps");
}
void Interpreter::check_items(size_t n) const {
  if (n > limits_.max_items) error(std::string("list longer than ") + std::to_string(limits_.max_items) + " items");
}

std::string Interpreter::run(const std::vector<NodePtr>& program, const EnvPtr& globals) {
  try {
    return block(program, globals);
  } catch (const BreakSignal&) {
    error("{% break %} outside a loop");
  } catch (const ContinueSignal&) {
    error("{% continue %} outside a loop");
  }
}

std::string Interpreter::block(const std::vector<NodePtr>& nodes, const EnvPtr& env) {
  std::string out;
  for (const auto& n : nodes) {
    const Value v = eval(n, env);
    if (v.is_nullish()) continue;
    const size_t before = out.size();
    out += v.type == T::kString ? v.str : to_output(v);
    check_text(out.size());
    charge((out.size() - before) >> 6);
  }
  return out;
}

Value Interpreter::eval(const NodePtr& n, const EnvPtr& env) {
  if (!n) return Value::undefined();
  line_ = n->line;
  charge();
  switch (n->kind) {
    case Kind::kText:
    case Kind::kString: return Value::string(n->str);
    case Kind::kComment: return Value::null();
    case Kind::kSet: return set(*n, env);
    case Kind::kIf: {
      const bool cond = truthy(eval(n->a, env));
      return Value::string(block(cond ? n->body : n->alt, env));
    }
    case Kind::kFor: return Value::string(for_loop(*n, env));
    case Kind::kMacro: return macro(*n, env);
    case Kind::kCallBlock: return call_block(*n, env);
    case Kind::kFilterBlock: {
      Value body = Value::string(block(n->body, env));
      return filter(std::move(body), n->a, env);
    }
    case Kind::kBreak: throw BreakSignal{};
    case Kind::kContinue: throw ContinueSignal{};
    case Kind::kInt: return Value::integer(n->num);
    case Kind::kFloat: return Value::floating(n->num);
    case Kind::kArray:
    case Kind::kTuple: {
      List items;
      for (const auto& x : n->body) items.push_back(eval(x, env));
      return Value::make_list(std::move(items), n->kind == Kind::kArray ? T::kList : T::kTuple);
    }
    case Kind::kObject: {
      Dict d;
      for (size_t i = 0; i < n->body.size(); ++i) {
        const Value key = eval(n->body[i], env);
        if (key.type != T::kString) error(std::string("dict keys must be strings, got ") + type_name(key.type));
        d.set(key.str, eval(n->alt[i], env));
      }
      return Value::make_dict(std::move(d));
    }
    case Kind::kIdentifier: return env->lookup(n->str);
    case Kind::kCall: return call(*n, env);
    case Kind::kMember: return member(*n, env);
    case Kind::kUnary: return unary(*n, env);
    case Kind::kBinary: return binary(*n, env);
    case Kind::kFilter: return filter(eval(n->a, env), n->b, env);
    case Kind::kTest: return test(*n, env);
    case Kind::kSelect: {
      if (!truthy(eval(n->b, env))) return Value::undefined();
      return eval(n->a, env);
    }
    case Kind::kTernary: return truthy(eval(n->a, env)) ? eval(n->b, env) : eval(n->c, env);
    default: error(std::string("unexpected ") + kind_name(n->kind) + " here");
  }
}

Value Interpreter::unary(const Node& n, const EnvPtr& env) {
  const Value arg = eval(n.a, env);
  if (n.str == "not") return Value::of(!truthy(arg));
  const double sign = n.str == "-" ? -1 : 1;
  if (arg.is_number()) return arg.type == T::kFloat ? Value::floating(sign * arg.num) : Value::integer(sign * arg.num);
  if (arg.type == T::kBool) return Value::integer(sign * (arg.boolean ? 1 : 0));
  error("unary " + n.str + " on " + type_name(arg.type));
}

Value Interpreter::binary(const Node& n, const EnvPtr& env) {
  const std::string& op = n.str;
  const Value left = eval(n.a, env);
  if (op == "and") return truthy(left) ? eval(n.b, env) : left;
  if (op == "or") return truthy(left) ? left : eval(n.b, env);
  const Value right = eval(n.b, env);
  line_ = n.line;
  if (op == "==") return Value::of(loose_equal(left, right));
  if (op == "!=") return Value::of(!loose_equal(left, right));
  if (left.type == T::kUndefined || right.type == T::kUndefined) {
    if (right.type == T::kUndefined && (op == "in" || op == "not in")) return Value::of(op == "not in");
    error("cannot apply " + op + " to an undefined value");
  }
  if (left.type == T::kNull || right.type == T::kNull) error("cannot apply " + op + " to none");
  auto concat = [&] {
    std::string s = js_string(left) + js_string(right);
    check_text(s.size());
    charge(s.size() >> 6);  // copying long strings is work too
    return Value::string(std::move(s));
  };
  if (op == "~") return concat();
  const bool left_num_like = left.is_number() || left.type == T::kBool;
  const bool right_num_like = right.is_number() || right.type == T::kBool;
  if (op == "**" && left_num_like && right_num_like) {
    const double a = left.type == T::kBool ? left.boolean : left.num, b = right.type == T::kBool ? right.boolean : right.num;
    if (a == 0 && b < 0) error("0.0 cannot be raised to a negative power");
    const double r = std::pow(a, b);
    if (!std::isfinite(r)) error("exponentiation result is not a finite real number");
    return (left.type == T::kFloat || right.type == T::kFloat || b < 0) ? Value::floating(r) : Value::integer(r);
  }
  if (left.is_number() && right.is_number()) {
    const double a = left.num, b = right.num;
    const bool fl = left.type == T::kFloat || right.type == T::kFloat;
    auto num = [fl](double r) { return fl ? Value::floating(r) : Value::integer(r); };
    if (op == "+") return num(a + b);
    if (op == "-") return num(a - b);
    if (op == "*") return num(a * b);
    if (op == "/") return Value::floating(a / b);
    if (op == "//") return num(std::floor(a / b));
    if (op == "%") return num(std::fmod(a, b));
    if (op == "<") return Value::of(a < b);
    if (op == ">") return Value::of(a > b);
    if (op == ">=") return Value::of(a >= b);
    if (op == "<=") return Value::of(a <= b);
  } else if (left.is_list() && right.is_list()) {
    if (op == "+") {
      check_items(left.list->size() + right.list->size());
      charge(left.list->size() + right.list->size());
      List items = *left.list;
      items.insert(items.end(), right.list->begin(), right.list->end());
      return Value::make_list(std::move(items));
    }
  } else if (right.is_list()) {
    bool member = false;
    for (const auto& x : *right.list) member = member || strict_equal(x, left);
    if (op == "in") return Value::of(member);
    if (op == "not in") return Value::of(!member);
  }
  if ((left.type == T::kString || right.type == T::kString) && op == "+") return concat();
  if (left.type == T::kString && right.type == T::kString) {
    if (op == "in") return Value::of(right.str.find(left.str) != std::string::npos);
    if (op == "not in") return Value::of(right.str.find(left.str) == std::string::npos);
  }
  if (left.type == T::kString && right.is_dict()) {
    if (op == "in") return Value::of(right.dict->find(left.str) != nullptr);
    if (op == "not in") return Value::of(right.dict->find(left.str) == nullptr);
  }
  error("unsupported operator " + op + " between " + type_name(left.type) + " and " + type_name(right.type));
}

std::pair<std::vector<Value>, Dict> Interpreter::arguments(const std::vector<NodePtr>& args, const EnvPtr& env) {
  std::vector<Value> positional;
  Dict keywords;
  for (const auto& a : args) {
    if (a->kind == Kind::kSpread) {
      const Value v = eval(a->a, env);
      if (!v.is_list()) error(std::string("cannot unpack ") + type_name(v.type));
      positional.insert(positional.end(), v.list->begin(), v.list->end());
    } else if (a->kind != Kind::kKeywordArg && a->kind != Kind::kKeywordSpread) {
      positional.push_back(eval(a, env));
    }
  }
  auto add = [&](const std::string& k, Value v) {
    if (keywords.find(k)) error("multiple values for keyword argument '" + k + "'");
    keywords.set(k, std::move(v));
  };
  for (const auto& a : args) {
    if (a->kind == Kind::kKeywordArg) {
      add(a->str, eval(a->a, env));
    } else if (a->kind == Kind::kKeywordSpread) {
      const Value v = eval(a->a, env);
      if (!v.is_dict()) error(std::string("argument after ** must be a mapping, not ") + type_name(v.type));
      for (const auto& [k, x] : v.dict->items()) add(k, x);
    }
  }
  return {std::move(positional), std::move(keywords)};
}

Value Interpreter::call(const Node& n, const EnvPtr& env) {
  auto [args, kwargs] = arguments(n.args, env);
  if (kwargs.size() > 0) args.push_back(Value::make_dict(std::move(kwargs), T::kKwargs));
  const Value fn = eval(n.a, env);
  line_ = n.line;
  if (fn.type != T::kFunction) {
    const std::string what = n.a->kind == Kind::kIdentifier ? "'" + n.a->str + "'"
                             : n.a->kind == Kind::kMember && !n.a->computed ? "'." + n.a->b->str + "'"
                                                                             : "this";
    error("cannot call " + what + ": it is " + type_name(fn.type) + " (unsupported function or method?)");
  }
  return invoke(fn, args, env);
}

// Every call (function, method, macro, {% call %} block) counts against max_call_depth while it runs.
Value Interpreter::invoke(const Value& fn, std::vector<Value>& args, const EnvPtr& env) {
  if (++call_depth_ > limits_.max_call_depth) error(std::string("calls nested deeper than ") + std::to_string(limits_.max_call_depth));
  struct Leave {
    int& d;
    ~Leave() { --d; }
  } leave{call_depth_};
  return (*fn.fn)(args, env);
}

Value Interpreter::member(const Node& n, const EnvPtr& env) {
  const Value object = eval(n.a, env);
  Value property;
  if (n.computed) {
    if (n.b->kind == Kind::kSlice) return slice(object, *n.b, env);
    property = eval(n.b, env);
  } else if (n.b->kind == Kind::kInt) {
    property = Value::integer(n.b->num);
  } else {
    property = Value::string(n.b->str);
  }
  line_ = n.line;
  if (object.is_container()) {
    if (property.type != T::kString) error(std::string("cannot index a dict with ") + type_name(property.type));
    if (const Value* v = object.dict->find(property.str)) return *v;
    return object.is_dict() ? builtin_member(*this, object, property.str) : Value::undefined();
  }
  if (object.is_list() || object.type == T::kString) {
    if (property.type == T::kInt) {
      if (object.type == T::kString) {
        const std::vector<std::string> cps = code_points(object.str);
        const double i = property.num < 0 ? property.num + double(cps.size()) : property.num;
        return i >= 0 && i < double(cps.size()) ? Value::string(cps[size_t(i)]) : Value::undefined();
      }
      const double i = property.num < 0 ? property.num + double(object.list->size()) : property.num;
      return i >= 0 && i < double(object.list->size()) ? (*object.list)[size_t(i)] : Value::undefined();
    }
    if (property.type == T::kString) return builtin_member(*this, object, property.str);
    error(std::string("cannot index with ") + type_name(property.type));
  }
  if (property.type != T::kString) error(std::string("cannot index with ") + type_name(property.type));
  return Value::undefined();
}

Value Interpreter::slice(const Value& object, const Node& n, const EnvPtr& env) {
  if (!object.is_list() && object.type != T::kString) error("only lists and strings can be sliced");
  const Value start = eval(n.a, env), stop = eval(n.b, env), step = eval(n.c, env);
  for (const Value* v : {&start, &stop, &step})
    if (v->type != T::kInt && v->type != T::kUndefined) error("slice bounds must be integers");
  std::vector<std::string> cps;
  if (object.type == T::kString) cps = code_points(object.str);
  const double len = object.type == T::kString ? double(cps.size()) : double(object.list->size());
  const double st = step.type == T::kInt ? step.num : 1;
  const double dir = st > 0 ? 1 : st < 0 ? -1 : 0;
  double a, b;
  if (dir >= 0) {
    a = start.type == T::kInt ? start.num : 0;
    a = a < 0 ? std::max(len + a, 0.0) : std::min(a, len);
    b = stop.type == T::kInt ? stop.num : len;
    b = b < 0 ? std::max(len + b, 0.0) : std::min(b, len);
  } else {
    a = start.type == T::kInt ? start.num : len - 1;
    a = a < 0 ? std::max(len + a, -1.0) : std::min(a, len - 1);
    b = stop.type == T::kInt ? stop.num : -1;
    b = b < -1 ? std::max(len + b, -1.0) : std::min(b, len - 1);
  }
  List items;
  std::string text;
  for (double i = a; dir * i < dir * b; i += st) {
    if (object.type == T::kString)
      text += cps[size_t(i)];
    else
      items.push_back((*object.list)[size_t(i)]);
  }
  return object.type == T::kString ? Value::string(std::move(text)) : Value::make_list(std::move(items));
}

Value Interpreter::set(const Node& n, const EnvPtr& env) {
  Value rhs = n.b ? eval(n.b, env) : Value::string(block(n.body, env));
  line_ = n.line;
  const Node& target = *n.a;
  if (target.kind == Kind::kIdentifier) {
    env->set(target.str, std::move(rhs));
  } else if (target.kind == Kind::kTuple) {
    if (!rhs.is_list()) error(std::string("cannot unpack ") + type_name(rhs.type) + " in set");
    if (rhs.list->size() != target.body.size())
      error(std::string("too ") + (target.body.size() > rhs.list->size() ? "few" : "many") + " items to unpack");
    for (size_t i = 0; i < target.body.size(); ++i) {
      if (target.body[i]->kind != Kind::kIdentifier) error("can only unpack into names in set");
      env->set(target.body[i]->str, (*rhs.list)[i]);
    }
  } else if (target.kind == Kind::kMember) {
    const Value object = eval(target.a, env);
    if (object.type != T::kNamespace) error("cannot assign an attribute of anything but a namespace");
    if (target.b->kind != Kind::kIdentifier || target.computed) error("namespace attributes are set with ns.name");
    object.dict->set(target.b->str, std::move(rhs));
  } else {
    error(std::string("cannot assign to ") + kind_name(target.kind));
  }
  return Value::null();
}

std::string Interpreter::for_loop(const Node& n, const EnvPtr& env) {
  auto scope = std::make_shared<Env>(env);
  NodePtr condition;
  Value iterable;
  if (n.b->kind == Kind::kSelect) {
    iterable = eval(n.b->a, scope);
    condition = n.b->b;
  } else {
    iterable = eval(n.b, scope);
  }
  line_ = n.line;
  if (iterable.is_dict()) {
    List keys;
    for (const auto& [k, v] : iterable.dict->items()) keys.push_back(Value::string(k));
    iterable = Value::make_list(std::move(keys));
  }
  if (!iterable.is_list()) error(std::string("cannot loop over ") + type_name(iterable.type));
  const Node& var = *n.a;
  auto bind = [&](const EnvPtr& s, const Value& item) {
    if (var.kind == Kind::kIdentifier) {
      s->set(var.str, item);
      return;
    }
    if (item.type != T::kList) error(std::string("cannot unpack ") + type_name(item.type) + " in a for loop");
    if (item.list->size() != var.body.size())
      error(std::string("too ") + (var.body.size() > item.list->size() ? "few" : "many") + " items to unpack");
    for (size_t j = 0; j < var.body.size(); ++j) {
      if (var.body[j]->kind != Kind::kIdentifier) error("can only unpack into names in a for loop");
      s->set(var.body[j]->str, (*item.list)[j]);
    }
  };
  const List source = *iterable.list;  // the body may change the list it loops over
  List items;
  for (const auto& item : source) {
    charge();
    if (condition) {
      auto test_scope = std::make_shared<Env>(scope);
      bind(test_scope, item);
      if (!truthy(eval(condition, test_scope))) continue;
    } else if (var.kind == Kind::kTuple) {
      bind(std::make_shared<Env>(scope), item);  // unpacking errors come before the first iteration, as in JS
    }
    items.push_back(item);
  }
  std::string out;
  bool no_iteration = true;
  const double count = double(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    charge();
    Dict loop;
    loop.set("index", Value::integer(double(i) + 1));
    loop.set("index0", Value::integer(double(i)));
    loop.set("revindex", Value::integer(count - double(i)));
    loop.set("revindex0", Value::integer(count - double(i) - 1));
    loop.set("first", Value::of(i == 0));
    loop.set("last", Value::of(i + 1 == items.size()));
    loop.set("length", Value::integer(count));
    loop.set("previtem", i > 0 ? items[i - 1] : Value::undefined());
    loop.set("nextitem", i + 1 < items.size() ? items[i + 1] : Value::undefined());
    scope->set("loop", Value::make_dict(std::move(loop)));
    bind(scope, items[i]);
    try {
      out += block(n.body, scope);
      check_text(out.size());
    } catch (const ContinueSignal&) {
      continue;
    } catch (const BreakSignal&) {
      break;
    }
    no_iteration = false;
  }
  if (no_iteration) out += block(n.alt, scope);
  return out;
}

void Interpreter::bind_arguments(const std::string& name, const std::vector<NodePtr>& params, bool uses_kwargs,
                                 bool uses_varargs, std::vector<Value> args, const EnvPtr& scope) {
  Dict kwargs;
  if (!args.empty() && args.back().type == T::kKwargs) {
    kwargs = *args.back().dict;
    args.pop_back();
  }
  std::vector<std::pair<std::string, NodePtr>> defaults;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string& pname = params[i]->str;
    Value v;
    bool given = i < args.size();
    if (given) v = args[i];
    if (!given && kwargs.find(pname)) {
      v = *kwargs.find(pname);
      kwargs.erase(pname);
      given = true;
    }
    if (!given && params[i]->kind == Kind::kKeywordArg) defaults.emplace_back(pname, params[i]->a);
    scope->set(pname, given ? v : Value::undefined());
  }
  if (uses_kwargs)
    scope->set("kwargs", Value::make_dict(kwargs));
  else if (kwargs.size() > 0)
    error("macro " + name + " takes no keyword argument '" + kwargs.items()[0].first + "'");
  if (uses_varargs)
    scope->set("varargs", Value::make_list(args.size() > params.size() ? List(args.begin() + long(params.size()), args.end()) : List{}));
  else if (args.size() > params.size())
    error("macro " + name + std::string(" takes not more than ") + std::to_string(params.size()) + " argument(s)");
  for (const auto& [pname, def] : defaults) scope->set(pname, eval(def, scope));
}

Value Interpreter::macro(const Node& n, const EnvPtr& env) {
  const NodePtr self = std::make_shared<Node>(n);
  const bool kw = body_reads(n.body, n.args, "kwargs"), va = body_reads(n.body, n.args, "varargs");
  env->set(n.str, Value::function([this, self, kw, va](std::vector<Value>& args, const EnvPtr& caller) {
    auto scope = std::make_shared<Env>(caller);  // macros see the caller's variables, as in @huggingface/jinja
    bind_arguments("'" + self->str + "'", self->args, kw, va, args, scope);
    return Value::string(block(self->body, scope));
  }));
  return Value::null();
}

Value Interpreter::call_block(const Node& n, const EnvPtr& env) {
  const NodePtr self = std::make_shared<Node>(n);
  const bool kw = body_reads(n.body, n.args, "kwargs"), va = body_reads(n.body, n.args, "varargs");
  const Value caller = Value::function([this, self, kw, va, env](std::vector<Value>& args, const EnvPtr&) {
    auto scope = std::make_shared<Env>(env);
    bind_arguments("None", self->args, kw, va, args, scope);
    return Value::string(block(self->body, scope));
  });
  auto [args, kwargs] = arguments(n.a->args, env);
  args.push_back(Value::make_dict(std::move(kwargs), T::kKwargs));
  const Value fn = eval(n.a->a, env);
  line_ = n.line;
  if (fn.type != T::kFunction) error("cannot call '" + n.a->a->str + "': it is " + type_name(fn.type));
  auto inner = std::make_shared<Env>(env);
  inner->set("caller", caller);
  return invoke(fn, args, inner);
}

Value Interpreter::test(const Node& n, const EnvPtr& env) {
  const Value operand = eval(n.a, env);
  line_ = n.line;
  if (!has_test(n.str)) error("unsupported test '" + n.str + "'");
  const bool r = run_test(*this, n.str, operand, nullptr);
  return Value::of(n.negate ? !r : r);
}

}  // namespace tandem::jinja
