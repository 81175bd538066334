// Tests, methods of strings and dicts, and globals, as @huggingface/jinja defines them.
#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/js_text.h"

namespace tandem::jinja {

namespace {
using T = Value::Type;

const char* const kTests[] = {"boolean", "callable", "odd",     "even",     "false",   "true",
                              "none",    "string",   "number",  "integer",  "iterable", "mapping",
                              "sequence", "lower",   "upper",   "defined",  "undefined", "equalto", "eq"};

// Positional argument i, or keyword `name` from a trailing keyword-arguments value.
const Value* arg(const std::vector<Value>& args, size_t i, const char* name) {
  const bool has_kw = !args.empty() && args.back().type == T::kKwargs;
  const size_t positional = args.size() - (has_kw ? 1 : 0);
  if (i < positional) return &args[i];
  return has_kw ? args.back().dict->find(name) : nullptr;
}

std::string title_case(const std::string& s) {  // /\b\w/g -> upper case
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (is_word_byte(c) && (i == 0 || !is_word_byte(static_cast<unsigned char>(out[i - 1]))))
      out[i] = char(std::toupper(c));
  }
  return out;
}

std::string capitalize(const std::string& s) {  // charAt(0).toUpperCase() + slice(1): the rest unchanged
  if (s.empty()) return s;
  size_t n = 0;
  utf8_decode_at(s, 0, &n);
  return js_upper(s.substr(0, n)) + s.substr(n);
}

bool starts_or_ends(Interpreter& in, const std::string& s, const std::vector<Value>& args, bool start,
                    const char* name) {
  if (args.empty()) in.error(std::string(name) + "() requires at least one argument");
  auto one = [&](const std::string& p) {
    return p.size() <= s.size() && (start ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0);
  };
  if (args[0].type == T::kString) return one(args[0].str);
  if (args[0].is_list()) {
    for (const auto& p : *args[0].list) {
      if (p.type != T::kString) in.error(std::string(name) + "() tuple elements must be strings");
      if (one(p.str)) return true;
    }
    return false;
  }
  in.error(std::string(name) + "() argument must be a string or tuple of strings");
}

Value split(Interpreter& in, const std::string& s, const std::vector<Value>& args) {
  const Value sep = args.size() > 0 ? args[0] : Value::null();
  if (sep.type != T::kString && sep.type != T::kNull) in.error("split() separator must be a string or none");
  const Value maxsplit = args.size() > 1 ? args[1] : Value::integer(-1);
  if (maxsplit.type != T::kInt) in.error("split() maxsplit must be an integer");
  List out;
  if (sep.type == T::kNull) {
    const std::string text = trim(s, true, false);
    size_t i = 0, n = 0;
    while (i < text.size()) {
      while (i < text.size() && is_js_space(utf8_decode_at(text, i, &n))) i += n;
      if (i >= text.size()) break;
      if (maxsplit.num != -1 && double(out.size()) >= maxsplit.num) {
        out.push_back(Value::string(text.substr(i)));
        break;
      }
      const size_t start = i;
      while (i < text.size() && !is_js_space(utf8_decode_at(text, i, &n))) i += n;
      out.push_back(Value::string(text.substr(start, i - start)));
    }
    return Value::make_list(std::move(out));
  }
  if (sep.str.empty()) in.error("split(): empty separator");
  std::vector<std::string> parts;
  size_t at = 0;
  while (true) {
    const size_t hit = s.find(sep.str, at);
    if (hit == std::string::npos) break;
    parts.push_back(s.substr(at, hit - at));
    at = hit + sep.str.size();
  }
  parts.push_back(s.substr(at));
  if (maxsplit.num != -1 && double(parts.size()) > maxsplit.num) {
    const size_t keep = maxsplit.num < 0 ? 0 : size_t(maxsplit.num);
    std::string rest;
    for (size_t i = keep; i < parts.size(); ++i) rest += (i > keep ? sep.str : "") + parts[i];
    parts.resize(keep);
    parts.push_back(rest);
  }
  for (auto& p : parts) out.push_back(Value::string(std::move(p)));
  return Value::make_list(std::move(out));
}

Value replace(Interpreter& in, const std::string& s, const std::vector<Value>& args) {
  if (args.size() < 2) in.error("replace() requires at least two arguments");
  if (args[0].type != T::kString || args[1].type != T::kString) in.error("replace() arguments must be strings");
  Value count = Value::null();
  if (args.size() > 2) {
    if (args[2].type == T::kKwargs) {
      const Value* c = args[2].dict->find("count");
      count = c ? *c : Value::null();
    } else {
      count = args[2];
    }
  }
  if (count.type != T::kInt && count.type != T::kNull) in.error("replace() count must be an integer or none");
  double remaining = count.type == T::kNull || count.num < 0 ? INFINITY : count.num;
  if (count.type == T::kInt && count.num == 0) return Value::string(s);
  const std::string& from = args[0].str;
  const std::string& to = args[1].str;
  std::string out;
  if (from.empty()) {  // inserts at every code point boundary, as JS's /(?=)/gu
    size_t n = 0;
    for (size_t i = 0; i <= s.size(); i += n) {
      if (remaining > 0) {
        out += to;
        --remaining;
      }
      if (i == s.size()) break;
      utf8_decode_at(s, i, &n);
      out.append(s, i, n);
      in.check_text(out.size());
    }
    return Value::string(std::move(out));
  }
  size_t at = 0;
  while (remaining > 0) {
    const size_t hit = s.find(from, at);
    if (hit == std::string::npos) break;
    out.append(s, at, hit - at);
    out += to;
    in.check_text(out.size());
    at = hit + from.size();
    --remaining;
  }
  out.append(s, at);
  return Value::string(std::move(out));
}

Value string_method(Interpreter& in, const Value& self, const std::string& name) {
  const std::string s = self.str;
  auto method = [](auto body) { return Value::function([body](std::vector<Value>& a, const EnvPtr&) { return body(a); }); };
  Interpreter* ip = &in;
  if (name == "upper") return method([s](auto&) { return Value::string(js_upper(s)); });
  if (name == "lower") return method([s](auto&) { return Value::string(js_lower(s)); });
  if (name == "strip") return method([s](auto&) { return Value::string(trim(s, true, true)); });
  if (name == "lstrip") return method([s](auto&) { return Value::string(trim(s, true, false)); });
  if (name == "rstrip") return method([s](auto&) { return Value::string(trim(s, false, true)); });
  if (name == "title") return method([s](auto&) { return Value::string(title_case(s)); });
  if (name == "capitalize") return method([s](auto&) { return Value::string(capitalize(s)); });
  if (name == "length") return Value::integer(double(utf16_length(s)));
  if (name == "startswith" || name == "endswith")
    return method([s, ip, name](auto& a) { return Value::of(starts_or_ends(*ip, s, a, name == "startswith", name.c_str())); });
  if (name == "split") return method([s, ip](auto& a) { return split(*ip, s, a); });
  if (name == "replace") return method([s, ip](auto& a) { return replace(*ip, s, a); });
  return Value::undefined();
}

Value dict_method(Interpreter& in, const Value& self, const std::string& name) {
  const auto d = self.dict;
  Interpreter* ip = &in;
  auto method = [](auto body) { return Value::function([body](std::vector<Value>& a, const EnvPtr&) { return body(a); }); };
  if (name == "get")
    return method([d, ip](auto& a) {
      if (a.empty() || a[0].type != T::kString)
        ip->error(std::string("dict.get() key must be a string, got ") + (a.empty() ? "nothing" : type_name(a[0].type)));
      if (const Value* v = d->find(a[0].str)) return *v;
      return a.size() > 1 ? a[1] : Value::null();
    });
  if (name == "items" || name == "keys" || name == "values")
    return method([d, name](auto&) {
      List out;
      for (const auto& [k, v] : d->items()) {
        if (name == "items") out.push_back(Value::make_list({Value::string(k), v}));
        if (name == "keys") out.push_back(Value::string(k));
        if (name == "values") out.push_back(v);
      }
      return Value::make_list(std::move(out));
    });
  if (name == "dictsort")
    return method([d, ip](auto& a) {
      const Value* cs = arg(a, 0, "case_sensitive");
      const Value* by = arg(a, 1, "by");
      const Value* rev = arg(a, 2, "reverse");
      if (cs && cs->type != T::kBool) ip->error("dictsort: case_sensitive must be a boolean");
      if (by && (by->type != T::kString || (by->str != "key" && by->str != "value")))
        ip->error("dictsort: by must be 'key' or 'value'");
      if (rev && rev->type != T::kBool) ip->error("dictsort: reverse must be a boolean");
      const bool case_sensitive = cs && cs->boolean, reverse = rev && rev->boolean;
      const size_t index = by && by->str == "value" ? 1 : 0;
      List items;
      for (const auto& [k, v] : d->items()) items.push_back(Value::make_list({Value::string(k), v}));
      std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        const int c = compare_values(*ip, (*x.list)[index], (*y.list)[index], case_sensitive);
        return reverse ? c > 0 : c < 0;
      });
      return Value::make_list(std::move(items));
    });
  return Value::undefined();
}

}  // namespace

bool has_test(const std::string& name) {
  return std::find(std::begin(kTests), std::end(kTests), name) != std::end(kTests);
}

bool run_test(Interpreter& in, const std::string& name, const Value& v, const Value* arg_value) {
  if (name == "boolean") return v.type == T::kBool;
  if (name == "callable") return v.type == T::kFunction;
  if (name == "odd" || name == "even") {
    if (v.type != T::kInt) in.error("cannot " + name + " on " + type_name(v.type));
    const bool odd = std::fmod(v.num, 2) != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "false") return v.type == T::kBool && !v.boolean;
  if (name == "true") return v.type == T::kBool && v.boolean;
  if (name == "none") return v.type == T::kNull;
  if (name == "string") return v.type == T::kString;
  if (name == "number") return v.is_number();
  if (name == "integer") return v.type == T::kInt;
  if (name == "iterable") return v.type == T::kList || v.type == T::kString;  // (not tuples, as in the reference)
  if (name == "mapping") return v.is_dict();
  if (name == "sequence") return v.is_list() || v.is_dict() || v.type == T::kString;
  if (name == "lower") return v.type == T::kString && v.str == js_lower(v.str);
  if (name == "upper") return v.type == T::kString && v.str == js_upper(v.str);
  if (name == "defined") return v.type != T::kUndefined;
  if (name == "undefined") return v.type == T::kUndefined;
  if (name == "equalto" || name == "eq") return strict_equal(v, arg_value ? *arg_value : Value::undefined());
  in.error("unsupported test '" + name + "'");
}

Value builtin_member(Interpreter& in, const Value& object, const std::string& name) {
  if (object.type == T::kString) return string_method(in, object, name);
  if (object.is_dict()) return dict_method(in, object, name);
  if (object.is_list() && name == "length") return Value::integer(double(object.list->size()));
  return Value::undefined();
}

int compare_values(Interpreter& in, const Value& a, const Value& b, bool case_sensitive) {
  if (a.type == T::kNull && b.type == T::kNull) return 0;
  if (a.type == T::kNull || b.type == T::kNull || a.type == T::kUndefined || b.type == T::kUndefined) {
    if (a.type == T::kUndefined && b.type == T::kUndefined) return 0;
    in.error(std::string("cannot compare ") + type_name(a.type) + " with " + type_name(b.type));
  }
  const bool an = a.is_number() || a.type == T::kBool, bn = b.is_number() || b.type == T::kBool;
  if (an && bn) {
    const double x = a.type == T::kBool ? a.boolean : a.num, y = b.type == T::kBool ? b.boolean : b.num;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.type != b.type) in.error(std::string("cannot compare ") + type_name(a.type) + " and " + type_name(b.type));
  if (a.type != T::kString) in.error(std::string("cannot compare ") + type_name(a.type));
  const std::string x = case_sensitive ? a.str : js_lower(a.str), y = case_sensitive ? b.str : js_lower(b.str);
  return x < y ? -1 : x > y ? 1 : 0;
}

Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t at = 0;
  while (true) {
    const size_t dot = path.find('.', at);
    const std::string part = path.substr(at, dot == std::string::npos ? std::string::npos : dot - at);
    if (v.is_container()) {
      const Value* x = v.dict->find(part);
      v = x ? *x : Value::undefined();
    } else if (v.is_list()) {
      const double i = js_parse_int(part);
      if (std::isnan(i) || i < 0 || i >= double(v.list->size())) return Value::undefined();
      v = (*v.list)[size_t(i)];
    } else {
      return Value::undefined();
    }
    if (dot == std::string::npos) return v;
    at = dot + 1;
  }
}

void add_globals(Interpreter& in, Env& env, const std::function<std::string(const std::string&)>& strftime_now) {
  Interpreter* ip = &in;
  env.set("namespace", Value::function([ip](std::vector<Value>& args, const EnvPtr&) {
    std::vector<Value> positional = args;
    Dict entries;
    const Value* kwargs = nullptr;
    if (!positional.empty() && positional.back().type == T::kKwargs) {
      kwargs = &args.back();
      positional.pop_back();
    }
    if (positional.size() > 1) ip->error("namespace() takes at most 1 positional argument");
    if (positional.size() == 1) {
      const Value& src = positional[0];
      if (src.is_dict()) {
        for (const auto& [k, v] : src.dict->items()) entries.set(k, v);
      } else if (src.is_list()) {
        for (const auto& pair : *src.list) {
          if (!pair.is_list() || pair.list->size() != 2 || (*pair.list)[0].type != T::kString)
            ip->error("namespace() expects a dict or a list of [key, value] pairs");
          entries.set((*pair.list)[0].str, (*pair.list)[1]);
        }
      } else {
        ip->error(std::string("namespace(): ") + type_name(src.type) + " is not iterable");
      }
    }
    if (kwargs)
      for (const auto& [k, v] : kwargs->dict->items()) entries.set(k, v);
    Value ns = Value::make_dict(std::move(entries), T::kNamespace);
    ip->adopt_namespace(ns.dict);
    return ns;
  }));
  env.set("false", Value::of(false));
  env.set("true", Value::of(true));
  env.set("none", Value::null());
  env.set("False", Value::of(false));
  env.set("True", Value::of(true));
  env.set("None", Value::null());
  env.set("raise_exception", Value::function([ip](std::vector<Value>& args, const EnvPtr&) -> Value {
    ip->error("raise_exception: " + (args.empty() ? std::string("undefined") : js_string(args[0])));
  }));
  env.set("range", Value::function([ip](std::vector<Value>& args, const EnvPtr&) {
    // JS range(start, stop?, step = 1) over the raw argument values.
    auto num = [&](size_t i, double dflt) {
      if (i >= args.size() || args[i].type == T::kUndefined) return dflt;
      const Value& v = args[i];
      if (v.is_number()) return v.num;
      if (v.type == T::kBool) return double(v.boolean);
      ip->error(std::string("range() needs numbers, got ") + type_name(v.type));
    };
    double start = num(0, NAN), stop = num(1, NAN);
    const double step = num(2, 1);
    if (std::isnan(stop)) {
      stop = start;
      start = 0;
    }
    if (step == 0) ip->error("range() step must not be zero");
    List out;
    for (double i = start; step > 0 ? i < stop : i > stop; i += step) {
      out.push_back(i == std::floor(i) ? Value::integer(i) : Value::floating(i));
      ip->check_items(out.size());
      ip->charge();
    }
    return Value::make_list(std::move(out));
  }));
  env.set("strftime_now", Value::function([ip, strftime_now](std::vector<Value>& args, const EnvPtr&) {
    if (args.empty() || args[0].type != T::kString) ip->error("strftime_now() needs a format string");
    return Value::string(strftime_now(args[0].str));
  }));
}

}  // namespace tandem::jinja
