// Runtime values of the interpreter, with @huggingface/jinja's types and conversions: integers and floats are JS
// numbers (doubles) that remember which they are, lists/dicts/namespaces are shared by reference (a namespace
// assigned in a loop is seen outside it), dicts keep insertion order.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::jinja {

struct Value;
class Env;
using EnvPtr = std::shared_ptr<Env>;

class Dict {
 public:
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
  bool erase(const std::string& key);
  void clear();
  size_t size() const;  // (out of line: Value is incomplete here)
  const std::vector<std::pair<std::string, Value>>& items() const;

 private:
  std::vector<std::pair<std::string, Value>> items_;
  std::unordered_map<std::string, size_t> index_;
};

using List = std::vector<Value>;
// A callable: positional arguments (a trailing kKwargs value holds keyword arguments) and the caller's scope.
using Function = std::function<Value(std::vector<Value>& args, const EnvPtr& caller)>;

struct Value {
  enum class Type { kUndefined, kNull, kBool, kInt, kFloat, kString, kList, kTuple, kDict, kKwargs, kNamespace, kFunction };
  Type type = Type::kUndefined;
  bool boolean = false;
  double num = 0;
  std::string str;
  std::shared_ptr<List> list;  // kList, kTuple
  std::shared_ptr<Dict> dict;  // kDict, kKwargs, kNamespace
  std::shared_ptr<Function> fn;

  static Value undefined() { return {}; }
  static Value null();
  static Value of(bool b);
  static Value integer(double v);
  static Value floating(double v);
  static Value string(std::string s);
  static Value make_list(List items = {}, Type t = Type::kList);
  static Value make_dict(Dict d = {}, Type t = Type::kDict);
  static Value function(Function f);
  // A JSON document as transformers hands it to templates (JS JSON.parse + convertToRuntimeValues: whole numbers
  // become integers, JS object key order).
  static Value from_json(const nlohmann::ordered_json& j);

  bool is_list() const { return type == Type::kList || type == Type::kTuple; }
  bool is_dict() const { return type == Type::kDict || type == Type::kKwargs; }  // ObjectValue
  bool is_container() const { return is_dict() || type == Type::kNamespace; }
  bool is_number() const { return type == Type::kInt || type == Type::kFloat; }
  bool is_nullish() const { return type == Type::kUndefined || type == Type::kNull; }
};

const char* type_name(Value::Type t);
bool truthy(const Value& v);                 // __bool__
std::string to_output(const Value& v);       // toString(): what {{ v }} writes
std::string js_string(const Value& v);       // the JS value's own String(): what ~ and string + use
bool loose_equal(const Value& a, const Value& b);   // JS ==
bool strict_equal(const Value& a, const Value& b);  // JS === on the underlying values

struct JsonOptions {
  int indent = 0;  // 0: none
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool has_separators = false;
  std::string item_sep, key_sep;
};
// The tojson filter (undefined_as_null) and the JSON text of lists and dicts in output (undefined printed as such).
std::string to_json(const Value& v, const JsonOptions& o, bool undefined_as_null, int depth = 0);

}  // namespace tandem::jinja
