// The Jinja interpreter on arbitrary template text, rendered with a fixed conversation (system, user, an assistant
// turn with a tool call, a tool response, a final answer) and a tools list, as chat templates are. Seeds are the real
// templates (fuzz/corpus/jinja). Limits are tightened so a slow input is an Error within the fuzzer's timeout.
#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "tokenizer/jinja/template.h"

namespace {
const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Weather in Paris? {{ not a tag }}"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call12345", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2.5]}}}]},
      {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"t\": 21}"},
      {"role": "assistant", "content": "<think>\nok\n</think>\n\nIt is 21 °C.", "reasoning_content": "r"}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "documents": null, "add_generation_prompt": true, "enable_thinking": false,
    "bos_token": "<s>", "eos_token": "</s>"
  })");
  return ctx;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = tandem::fuzz::text(data, size);
  tandem::fuzz::expect_clean([&] {
    const tandem::jinja::Template t(text);
    tandem::jinja::RenderOptions o;
    o.limits.max_steps = 200'000;
    o.limits.max_text = size_t{1} << 20;
    o.limits.max_items = size_t{1} << 14;
    o.strftime_now = [](const std::string& f) { return f; };
    t.render(context(), o);
  });
  return 0;
}
