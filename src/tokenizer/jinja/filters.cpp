// Filters (`x | name` and `x | name(args)`), dispatched on the operand's type as @huggingface/jinja's applyFilter.
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/check.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/js_text.h"

namespace tandem::jinja {

namespace {
using T = Value::Type;

const Value* pick(const std::vector<Value>& args, const Dict& kwargs, size_t i, const char* name) {
  if (i < args.size()) return &args[i];
  return kwargs.find(name);
}

std::string indent_lines(const std::string& s, const std::string& pad, bool first, bool blank) {
  std::string out;
  size_t at = 0, line = 0;
  while (true) {
    const size_t nl = s.find('\n', at);
    const std::string part = s.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line > 0) out += '\n';
    if (!((!first && line == 0) || (!blank && part.empty()))) out += pad;
    out += part;
    if (nl == std::string::npos) break;
    at = nl + 1;
    ++line;
  }
  return out;
}

// The key under which `unique` considers two items the same (JS Set of raw values: by value for primitives,
// by identity for lists and dicts).
std::string unique_key(const Value& v) {
  switch (v.type) {
    case T::kUndefined: return "u";
    case T::kNull: return "n";
    case T::kBool: return v.boolean ? "b1" : "b0";
    case T::kInt:
    case T::kFloat: return std::string("d") + js_number(v.num);
    case T::kString: return "s" + v.str;
    case T::kList:
    case T::kTuple: return std::string("p") + std::to_string(reinterpret_cast<uintptr_t>(v.list.get()));
    case T::kFunction: return std::string("p") + std::to_string(reinterpret_cast<uintptr_t>(v.fn.get()));
    default: return std::string("p") + std::to_string(reinterpret_cast<uintptr_t>(v.dict.get()));
  }
}
}  // namespace

Value Interpreter::filter(Value operand, const NodePtr& node, const EnvPtr& env) {
  if (node->kind == Kind::kIdentifier) {
    const std::string& f = node->str;
    if (f == "safe") return operand;
    if (f == "tojson") {
      std::string s = to_json(operand, {}, true);
      check_text(s.size());
      charge(s.size() >> 6);
      return Value::string(std::move(s));
    }
    if (operand.is_list()) {
      const List& l = *operand.list;
      if (f == "list") return operand;
      if (f == "first" || f == "last") {
        if (l.empty()) error("'" + f + "' of an empty list");
        return f == "first" ? l.front() : l.back();
      }
      if (f == "length") return Value::integer(double(l.size()));
      if (f == "reverse") return Value::make_list(List(l.rbegin(), l.rend()));
      if (f == "sort") {
        List out = l;
        std::stable_sort(out.begin(), out.end(),
                         [&](const Value& a, const Value& b) { return compare_values(*this, a, b, false) < 0; });
        return Value::make_list(std::move(out));
      }
      if (f == "join") {
        std::string s;
        for (const auto& x : l) {
          s += js_string(x);
          check_text(s.size());
        }
        return Value::string(std::move(s));
      }
      if (f == "string") return Value::string(to_json(operand, {}, false));
      if (f == "unique") {
        std::unordered_set<std::string> seen;
        List out;
        for (const auto& x : l)
          if (seen.insert(unique_key(x)).second) out.push_back(x);
        return Value::make_list(std::move(out));
      }
      error("unsupported filter '" + f + "' on a list");
    }
    if (operand.type == T::kString) {
      const std::string& s = operand.str;
      if (f == "length" || f == "upper" || f == "lower" || f == "title" || f == "capitalize") {
        const Value m = builtin_member(*this, operand, f);
        if (m.type != T::kFunction) return m;
        std::vector<Value> none;
        return (*m.fn)(none, env);
      }
      if (f == "trim") return Value::string(trim(s, true, true));
      if (f == "indent") return Value::string(indent_lines(s, "    ", false, false));
      if (f == "join" || f == "string") return operand;
      if (f == "int") {
        const double v = js_parse_int(s);
        return Value::integer(std::isnan(v) ? 0 : v);
      }
      if (f == "float") {
        const double v = js_parse_float(s);
        return Value::floating(std::isnan(v) ? 0 : v);
      }
      error("unsupported filter '" + f + "' on a string");
    }
    if (operand.is_number()) {
      if (f == "abs") return operand.type == T::kInt ? Value::integer(std::fabs(operand.num)) : Value::floating(std::fabs(operand.num));
      if (f == "int") return Value::integer(std::floor(operand.num));
      if (f == "float") return Value::floating(operand.num);
      if (f == "string") return Value::string(to_output(operand));
      error("unsupported filter '" + f + "' on a number");
    }
    if (operand.is_dict()) {
      if (f == "items" || f == "length") {
        if (f == "length") return Value::integer(double(operand.dict->size()));
        List out;
        for (const auto& [k, v] : operand.dict->items()) out.push_back(Value::make_list({Value::string(k), v}));
        return Value::make_list(std::move(out));
      }
      const Value m = builtin_member(*this, operand, f);
      if (m.type == T::kFunction) {
        std::vector<Value> none;
        return (*m.fn)(none, env);
      }
      if (m.type != T::kUndefined) return m;
      error("unsupported filter '" + f + "' on a dict");
    }
    if (operand.type == T::kBool) {
      if (f == "bool") return operand;
      if (f == "int") return Value::integer(operand.boolean ? 1 : 0);
      if (f == "float") return Value::floating(operand.boolean ? 1 : 0);
      if (f == "string") return Value::string(operand.boolean ? "true" : "false");
      error("unsupported filter '" + f + "' on a boolean");
    }
    error("cannot apply filter '" + f + "' to " + type_name(operand.type));
  }

  // name(args...)
  if (node->kind != Kind::kCall || node->a->kind != Kind::kIdentifier) error("unsupported filter expression");
  const std::string& f = node->a->str;
  const Node& call = *node;
  if (f == "tojson") {
    auto [args, kw] = arguments(call.args, env);
    JsonOptions o;
    if (const Value* v = kw.find("indent")) {
      if (v->type != T::kInt && v->type != T::kNull) error("tojson: indent must be an integer");
      if (v->type == T::kInt) o.indent = int(std::clamp(v->num, -1.0, 64.0));
      if (o.indent < 0) o.indent = 0;
    }
    if (const Value* v = kw.find("ensure_ascii")) {
      if (v->type != T::kBool) error("tojson: ensure_ascii must be a boolean");
      o.ensure_ascii = v->boolean;
    }
    if (const Value* v = kw.find("sort_keys")) {
      if (v->type != T::kBool) error("tojson: sort_keys must be a boolean");
      o.sort_keys = v->boolean;
    }
    if (const Value* v = kw.find("separators"); v && v->type != T::kNull) {
      if (!v->is_list() || v->list->size() != 2 || (*v->list)[0].type != T::kString || (*v->list)[1].type != T::kString)
        error("tojson: separators must be a tuple of two strings");
      o.has_separators = true;
      o.item_sep = (*v->list)[0].str;
      o.key_sep = (*v->list)[1].str;
    }
    std::string s = to_json(operand, o, true);
    check_text(s.size());
    charge(s.size() >> 6);
    return Value::string(std::move(s));
  }
  if (f == "join") {
    std::vector<std::string> parts;
    if (operand.type == T::kString) {
      parts = code_points(operand.str);
    } else if (operand.is_list()) {
      for (const auto& x : *operand.list) parts.push_back(js_string(x));
    } else {
      error(std::string("cannot apply filter 'join' to ") + type_name(operand.type));
    }
    auto [args, kw] = arguments(call.args, env);
    const Value* sep = pick(args, kw, 0, "separator");
    if (sep && sep->type != T::kString) error("join: separator must be a string");
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      out += (i && sep ? sep->str : "") + parts[i];
      check_text(out.size());
    }
    return Value::string(std::move(out));
  }
  if (f == "int" || f == "float") {
    auto [args, kw] = arguments(call.args, env);
    const Value* d = pick(args, kw, 0, "default");
    const Value dflt = d ? *d : f == "int" ? Value::integer(0) : Value::floating(0);
    if (operand.type == T::kString) {
      const double v = f == "int" ? js_parse_int(operand.str) : js_parse_float(operand.str);
      return std::isnan(v) ? dflt : f == "int" ? Value::integer(v) : Value::floating(v);
    }
    if (operand.is_number()) return operand;
    if (operand.type == T::kBool)
      return f == "int" ? Value::integer(operand.boolean ? 1 : 0) : Value::floating(operand.boolean ? 1 : 0);
    error("cannot apply filter '" + f + "' to " + type_name(operand.type));
  }
  if (f == "default") {
    auto [args, kw] = arguments(call.args, env);
    const Value dflt = args.size() > 0 ? args[0] : Value::string("");
    const Value* b = pick(args, kw, 1, "boolean");
    if (b && b->type != T::kBool) error("default: the boolean flag must be a boolean");
    if (operand.type == T::kUndefined || (b && b->boolean && !truthy(operand))) return dflt;
    return operand;
  }
  if (operand.is_list()) {
    const List& l = *operand.list;
    if (f == "sort") {
      auto [args, kw] = arguments(call.args, env);
      const Value* rev = pick(args, kw, 0, "reverse");
      const Value* cs = pick(args, kw, 1, "case_sensitive");
      const Value* attr = pick(args, kw, 2, "attribute");
      if (rev && rev->type != T::kBool) error("sort: reverse must be a boolean");
      if (cs && cs->type != T::kBool) error("sort: case_sensitive must be a boolean");
      if (attr && attr->type != T::kString && attr->type != T::kInt && attr->type != T::kNull)
        error("sort: attribute must be a string, integer or none");
      const bool reverse = rev && rev->boolean, case_sensitive = cs && cs->boolean;
      const bool by_attr = attr && attr->type != T::kNull;
      const std::string path = !by_attr ? "" : attr->type == T::kInt ? js_number(attr->num) : attr->str;
      auto key = [&](const Value& v) { return by_attr ? attribute_path(v, path) : v; };
      List out = l;
      std::stable_sort(out.begin(), out.end(), [&](const Value& a, const Value& b) {
        const int c = compare_values(*this, key(a), key(b), case_sensitive);
        return reverse ? c > 0 : c < 0;
      });
      return Value::make_list(std::move(out));
    }
    if (f == "selectattr" || f == "rejectattr") {
      const bool select = f == "selectattr";
      for (const auto& x : l)
        if (!x.is_container()) error(f + " can only be applied to a list of dicts");
      std::vector<Value> args;
      for (const auto& a : call.args) {
        if (a->kind != Kind::kString) error("the arguments of " + f + " must be string literals");
        args.push_back(eval(a, env));
      }
      if (args.empty()) error(f + " needs an attribute name");
      const std::string test_name = args.size() > 1 ? args[1].str : "";
      if (!test_name.empty() && !has_test(test_name)) error("unsupported test '" + test_name + "'");
      List out;
      for (const auto& x : l) {
        const Value* a = x.dict->find(args[0].str);
        bool r = false;
        if (a) r = test_name.empty() ? truthy(*a) : run_test(*this, test_name, *a, args.size() > 2 ? &args[2] : nullptr);
        if (r == select) out.push_back(x);
      }
      return Value::make_list(std::move(out));
    }
    if (f == "map") {
      auto [args, kw] = arguments(call.args, env);
      const Value* attr = kw.find("attribute");
      if (!attr) error("map() without attribute= is not supported");
      if (attr->type != T::kString) error("map: attribute must be a string");
      const Value* dflt = kw.find("default");
      List out;
      for (const auto& x : l) {
        if (!x.is_container()) error("map: the items must be dicts");
        Value v = attribute_path(x, attr->str);
        out.push_back(v.type == T::kUndefined && dflt ? *dflt : v);
      }
      return Value::make_list(std::move(out));
    }
    error("unsupported filter '" + f + "(...)' on a list");
  }
  if (operand.type == T::kString) {
    auto [args, kw] = arguments(call.args, env);
    if (f == "indent") {
      const Value* width = pick(args, kw, 0, "width");
      if (width && width->type != T::kInt) error("indent: width must be an integer");
      const Value* first = pick(args, kw, 1, "first");
      const Value* blank = pick(args, kw, 2, "blank");
      const double w = width ? width->num : 4;
      if (w > double(1 << 16)) error("indent: width too large");
      std::string out = indent_lines(operand.str, std::string(w > 0 ? size_t(w) : 0, ' '), first && truthy(*first),
                                     blank && truthy(*blank));
      check_text(out.size());
      return Value::string(std::move(out));
    }
    if (f == "replace") {
      const Value m = builtin_member(*this, operand, "replace");
      args.push_back(Value::make_dict(std::move(kw), T::kKwargs));
      return (*m.fn)(args, env);
    }
    error("unsupported filter '" + f + "(...)' on a string");
  }
  if (operand.is_dict()) {
    const Value m = builtin_member(*this, operand, f);
    if (m.type == T::kFunction) {
      auto [args, kw] = arguments(call.args, env);
      if (kw.size() > 0) args.push_back(Value::make_dict(std::move(kw), T::kKwargs));
      return (*m.fn)(args, env);
    }
    error("unsupported filter '" + f + "(...)' on a dict");
  }
  error("cannot apply filter '" + f + "' to " + type_name(operand.type));
}

}  // namespace tandem::jinja
