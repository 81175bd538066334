// A Jinja template as Hugging Face chat templates use them: parsed once, rendered with a JSON context.
// Semantics are @huggingface/jinja 0.5.11's (transformers.js), which emulates transformers' jinja2 setup
// (trim_blocks, lstrip_blocks); tests/hf/render.mjs checks the two agree byte for byte.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/interpreter.h"

namespace tandem::jinja {

struct RenderOptions {
  Limits limits;
  // strftime_now(format): the local time by default; tests pass a fixed clock.
  std::function<std::string(const std::string&)> strftime_now;
};

std::string strftime_local_now(const std::string& format);

class Template {
 public:
  // Throws tandem::Error naming the template line for a syntax error or an unsupported statement.
  explicit Template(const std::string& text);
  // `context` must be a JSON object: its keys become the template's variables. Errors (raise_exception, unknown
  // filters, limits) are tandem::Errors naming the line.
  std::string render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

 private:
  std::vector<NodePtr> program_;
};

}  // namespace tandem::jinja
