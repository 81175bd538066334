#include "tokenizer/jinja/template.h"

#include <ctime>

#include "core/check.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"

namespace tandem::jinja {

std::string strftime_local_now(const std::string& format) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  // Only the directives @huggingface/jinja knows (%Y %m %d %b %B %H %M %%); others stay as written.
  std::string out;
  char buf[64];
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size() || std::string("YmdbBHM%").find(format[i + 1]) == std::string::npos) {
      out += format[i];
      continue;
    }
    const char spec[3] = {'%', format[i + 1], 0};
    const size_t n = std::strftime(buf, sizeof buf, spec, &local);
    out.append(buf, n);
    ++i;
  }
  return out;
}

Template::Template(const std::string& text) : program_(parse(tokenize(text))) {}

std::string Template::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  TANDEM_CHECK(context.is_object(), "chat template: the context must be a JSON object");
  Interpreter interpreter(options.limits);
  auto globals = std::make_shared<Env>();
  add_globals(interpreter, *globals, options.strftime_now ? options.strftime_now : strftime_local_now);
  for (const auto& [key, value] : context.items()) globals->set(key, Value::from_json(value));
  return interpreter.run(program_, globals);
}

}  // namespace tandem::jinja
