#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/check.h"
#include "tokenizer/jinja/js_text.h"

namespace tandem::jinja {

namespace {
// Nested containers deeper than this (a namespace can hold itself) are an error, not a stack overflow.
constexpr int kMaxValueDepth = 200;

// JS puts integer-like keys ("0", "17") first, in numeric order, then the rest in insertion order.
bool is_array_index(const std::string& k) {
  if (k.empty() || k.size() > 10 || (k.size() > 1 && k[0] == '0')) return false;
  for (char c : k)
    if (c < '0' || c > '9') return false;
  return std::stoull(k) < 4294967295ull;
}
}  // namespace

void Dict::clear() {
  items_.clear();
  index_.clear();
}
size_t Dict::size() const { return items_.size(); }
const std::vector<std::pair<std::string, Value>>& Dict::items() const { return items_; }

const Value* Dict::find(const std::string& key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &items_[it->second].second;
}
void Dict::set(const std::string& key, Value v) {
  const auto it = index_.find(key);
  if (it != index_.end()) {
    items_[it->second].second = std::move(v);
    return;
  }
  index_[key] = items_.size();
  items_.emplace_back(key, std::move(v));
}
bool Dict::erase(const std::string& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return false;
  items_.erase(items_.begin() + long(it->second));
  index_.clear();
  for (size_t i = 0; i < items_.size(); ++i) index_[items_[i].first] = i;
  return true;
}

Value Value::null() {
  Value v;
  v.type = Type::kNull;
  return v;
}
Value Value::of(bool b) {
  Value v;
  v.type = Type::kBool;
  v.boolean = b;
  return v;
}
Value Value::integer(double x) {
  Value v;
  v.type = Type::kInt;
  v.num = x;
  return v;
}
Value Value::floating(double x) {
  Value v;
  v.type = Type::kFloat;
  v.num = x;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.type = Type::kString;
  v.str = std::move(s);
  return v;
}
Value Value::make_list(List items, Type t) {
  Value v;
  v.type = t;
  v.list = std::make_shared<List>(std::move(items));
  return v;
}
Value Value::make_dict(Dict d, Type t) {
  Value v;
  v.type = t;
  v.dict = std::make_shared<Dict>(std::move(d));
  return v;
}
Value Value::function(Function f) {
  Value v;
  v.type = Type::kFunction;
  v.fn = std::make_shared<Function>(std::move(f));
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return null();
    case nlohmann::ordered_json::value_t::boolean: return of(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return integer(double(j.get<int64_t>()));
    case nlohmann::ordered_json::value_t::number_unsigned: return integer(double(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: {
      const double d = j.get<double>();
      return std::isfinite(d) && d == std::floor(d) ? integer(d) : floating(d);
    }
    case nlohmann::ordered_json::value_t::string: return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      for (const auto& x : j) items.push_back(from_json(x));
      return make_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      std::vector<std::string> index_keys;
      for (const auto& [k, x] : j.items())
        if (is_array_index(k)) index_keys.push_back(k);
      std::sort(index_keys.begin(), index_keys.end(),
                [](const std::string& a, const std::string& b) { return std::stoull(a) < std::stoull(b); });
      Dict d;
      for (const auto& k : index_keys) d.set(k, from_json(j.at(k)));
      for (const auto& [k, x] : j.items())
        if (!is_array_index(k)) d.set(k, from_json(x));
      return make_dict(std::move(d));
    }
    default: fail("chat template: unsupported JSON value ", j.dump());
  }
}

const char* type_name(Value::Type t) {
  static const char* names[] = {"UndefinedValue", "NullValue",  "BooleanValue", "IntegerValue",
                                "FloatValue",     "StringValue", "ArrayValue",  "TupleValue",
                                "ObjectValue",    "KeywordArgumentsValue", "NamespaceValue", "FunctionValue"};
  return names[static_cast<int>(t)];
}

bool truthy(const Value& v) {
  switch (v.type) {
    case Value::Type::kUndefined:
    case Value::Type::kNull: return false;
    case Value::Type::kBool: return v.boolean;
    case Value::Type::kInt:
    case Value::Type::kFloat: return v.num != 0 && !std::isnan(v.num);
    case Value::Type::kString: return !v.str.empty();
    case Value::Type::kList:
    case Value::Type::kTuple: return !v.list->empty();
    case Value::Type::kDict:
    case Value::Type::kKwargs: return v.dict->size() > 0;
    case Value::Type::kNamespace:
    case Value::Type::kFunction: return true;
  }
  return false;
}

namespace {
std::string float_output(double x) {
  if (x == 0 && std::signbit(x)) return "-0.0";
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 1e21) {
    char buf[400];
    std::snprintf(buf, sizeof buf, "%.1f", x);  // toFixed(1): the exact integer, ".0"
    return buf;
  }
  return js_number(x);
}
}  // namespace

std::string to_output(const Value& v) {
  switch (v.type) {
    case Value::Type::kUndefined: return "undefined";
    case Value::Type::kNull: return "null";
    case Value::Type::kBool: return v.boolean ? "true" : "false";
    case Value::Type::kInt: return js_number(v.num);
    case Value::Type::kFloat: return float_output(v.num);
    case Value::Type::kString: return v.str;
    case Value::Type::kFunction: fail("chat template: cannot write a function as text");
    default: return to_json(v, {}, false);
  }
}

std::string js_string(const Value& v) {
  switch (v.type) {
    case Value::Type::kUndefined:
    case Value::Type::kNull: return "";
    case Value::Type::kFloat: return js_number(v.num);
    case Value::Type::kList:
    case Value::Type::kTuple: {  // Array.prototype.toString: the items' toString() joined by ","
      std::string out;
      for (size_t i = 0; i < v.list->size(); ++i) out += std::string(i ? "," : "") + to_output((*v.list)[i]);
      return out;
    }
    case Value::Type::kDict:
    case Value::Type::kKwargs:
    case Value::Type::kNamespace: return "[object Map]";
    default: return to_output(v);
  }
}

bool strict_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.num == b.num;
  if (a.type != b.type) {
    // Arrays and tuples, dicts and keyword arguments are the same JS kinds.
    if (!(a.is_list() && b.is_list()) && !(a.is_container() && b.is_container())) return false;
  }
  switch (a.type) {
    case Value::Type::kUndefined:
    case Value::Type::kNull: return true;
    case Value::Type::kBool: return a.boolean == b.boolean;
    case Value::Type::kString: return a.str == b.str;
    case Value::Type::kList:
    case Value::Type::kTuple: return a.list == b.list;
    case Value::Type::kFunction: return a.fn == b.fn;
    default: return a.dict == b.dict;
  }
}

bool loose_equal(const Value& a, const Value& b) {
  using T = Value::Type;
  if (a.type == b.type || (a.is_number() && b.is_number())) return strict_equal(a, b);
  if (a.is_nullish() || b.is_nullish()) return a.is_nullish() && b.is_nullish();
  if (a.type == T::kBool) return loose_equal(Value::integer(a.boolean ? 1 : 0), b);
  if (b.type == T::kBool) return loose_equal(a, Value::integer(b.boolean ? 1 : 0));
  const bool a_prim = a.is_number() || a.type == T::kString, b_prim = b.is_number() || b.type == T::kString;
  if (a_prim && b_prim) {
    const double x = a.is_number() ? a.num : js_to_number(a.str), y = b.is_number() ? b.num : js_to_number(b.str);
    return x == y;
  }
  if (a_prim && !b_prim) return b.type != T::kFunction && loose_equal(a, Value::string(js_string(b)));
  if (b_prim && !a_prim) return a.type != T::kFunction && loose_equal(Value::string(js_string(a)), b);
  return strict_equal(a, b);
}

namespace {
// localeCompare on ASCII keys, approximated: punctuation, then digits, then letters case-insensitively, lower first.
int collate(const std::string& a, const std::string& b) {
  auto key = [](unsigned char c) {
    const int cls = std::isalpha(c) ? 3 : std::isdigit(c) ? 2 : 1;
    return std::pair<int, int>{cls, std::tolower(c)};
  };
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const auto ka = key(static_cast<unsigned char>(a[i])), kb = key(static_cast<unsigned char>(b[i]));
    if (ka != kb) return ka < kb ? -1 : 1;
  }
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return std::islower(static_cast<unsigned char>(a[i])) ? -1 : 1;
  return 0;
}
}  // namespace

std::string to_json(const Value& v, const JsonOptions& o, bool undefined_as_null, int depth) {
  TANDEM_CHECK(depth <= kMaxValueDepth, "chat template: value nested deeper than ", kMaxValueDepth,
               " (a namespace that holds itself?)");
  const std::string item_sep = o.has_separators ? o.item_sep : o.indent ? "," : ", ";
  const std::string key_sep = o.has_separators ? o.key_sep : ": ";
  switch (v.type) {
    case Value::Type::kNull: return "null";
    case Value::Type::kUndefined: return undefined_as_null ? "null" : "undefined";
    case Value::Type::kInt:
    case Value::Type::kFloat: return std::isfinite(v.num) ? js_number(v.num) : "null";
    case Value::Type::kBool: return v.boolean ? "true" : "false";
    case Value::Type::kString: return json_quote(v.str, o.ensure_ascii);
    case Value::Type::kList:
    case Value::Type::kDict:
    case Value::Type::kNamespace: {
      const std::string pad = o.indent ? std::string(size_t(o.indent), ' ') : "";
      std::string base = "\n";
      for (int i = 0; i < depth; ++i) base += pad;
      const std::string child = base + pad;
      std::vector<std::string> core;
      if (v.type == Value::Type::kList) {
        for (const auto& x : *v.list) core.push_back(to_json(x, o, undefined_as_null, depth + 1));
        std::string out = "[";
        for (size_t i = 0; i < core.size(); ++i) out += (i ? item_sep : "") + (o.indent ? child : "") + core[i];
        return out + (o.indent && !core.empty() ? base : "") + "]";
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : v.dict->items()) entries.push_back(&e);
      if (o.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* x, auto* y) { return collate(x->first, y->first) < 0; });
      std::string out = "{";
      for (size_t i = 0; i < entries.size(); ++i)
        out += (i ? item_sep : "") + (o.indent ? child : "") + json_quote(entries[i]->first, o.ensure_ascii) +
               key_sep + to_json(entries[i]->second, o, undefined_as_null, depth + 1);
      return out + (o.indent && !entries.empty() ? base : "") + "}";
    }
    default: fail("chat template: cannot convert ", type_name(v.type), " to JSON");
  }
}

}  // namespace tandem::jinja
