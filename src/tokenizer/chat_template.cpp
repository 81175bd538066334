#include "tokenizer/chat_template.h"

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/json_file.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string strip_newlines(std::string s, bool left, bool right) {
  if (left) s.erase(0, s.find_first_not_of('\n') == std::string::npos ? s.size() : s.find_first_not_of('\n'));
  if (right) {
    const size_t last = s.find_last_not_of('\n');
    s.erase(last == std::string::npos ? 0 : last + 1);
  }
  return s;
}

// Jinja's trim filter (JavaScript String.prototype.trim in @huggingface/jinja).
std::string trim(const std::string& s) {
  std::u32string u = utf8_decode(s);
  auto ws = [](char32_t c) { return is_whitespace(c) || c == 0xFEFF; };
  size_t a = 0, b = u.size();
  while (a < b && ws(u[a])) ++a;
  while (b > a && ws(u[b - 1])) --b;
  return utf8_encode(u.substr(a, b - a));
}

std::string render_qwen3(const std::vector<ChatMessage>& m, bool gen, std::optional<bool> thinking) {
  std::string out;
  if (!m.empty() && m[0].role == "system") out += "<|im_start|>system\n" + m[0].content + "<|im_end|>\n";
  // The last user turn that is not a tool response: reasoning is kept only for assistant turns after it.
  int64_t last_query = int64_t(m.size()) - 1;
  for (int64_t i = int64_t(m.size()) - 1; i >= 0; --i) {
    const std::string& c = m[i].content;
    const bool tool_response = c.starts_with("<tool_response>") && c.ends_with("</tool_response>");
    if (m[i].role == "user" && !tool_response) {
      last_query = i;
      break;
    }
  }
  for (size_t i = 0; i < m.size(); ++i) {
    const ChatMessage& msg = m[i];
    if (msg.role == "user" || (msg.role == "system" && i != 0)) {
      out += "<|im_start|>" + msg.role + "\n" + msg.content + "<|im_end|>\n";
    } else if (msg.role == "assistant") {
      std::string content = msg.content, reasoning;
      if (msg.reasoning_content) {
        reasoning = *msg.reasoning_content;
      } else if (contains(content, "</think>")) {
        const size_t close = content.rfind("</think>");
        std::string before = content.substr(0, content.find("</think>"));
        content = strip_newlines(content.substr(close + 8), true, false);
        before = strip_newlines(before, false, true);
        const size_t open = before.rfind("<think>");
        reasoning = strip_newlines(open == std::string::npos ? before : before.substr(open + 7), true, false);
      }
      if (int64_t(i) > last_query && (i + 1 == m.size() || !reasoning.empty()))
        out += "<|im_start|>assistant\n<think>\n" + strip_newlines(reasoning, true, true) + "\n</think>\n\n" +
               strip_newlines(content, true, false);
      else
        out += "<|im_start|>assistant\n" + content;
      out += "<|im_end|>\n";
    } else if (msg.role == "system") {
      continue;  // the leading system message, rendered above
    } else if (msg.role == "tool") {
      if (i == 0 || m[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + msg.content + "\n</tool_response>";
      if (i + 1 == m.size() || m[i + 1].role != "tool") out += "<|im_end|>\n";
    } else {
      fail("chat template qwen3: unknown role '", msg.role, "'");
    }
  }
  if (gen) {
    out += "<|im_start|>assistant\n";
    if (thinking && !*thinking) out += "<think>\n\n</think>\n\n";
  }
  return out;
}

}  // namespace

ChatTemplate ChatTemplate::detect(const std::string& jinja, const std::string& bos_token, const std::string& source) {
  ChatTemplate t;
  t.bos_token_ = bos_token;
  if (contains(jinja, "<|im_start|>") && contains(jinja, "reasoning_content")) {
    t.kind_ = Kind::kQwen3;
  } else if (contains(jinja, "<|im_start|>")) {
    t.kind_ = Kind::kChatml;
    const std::string qwen = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
    if (contains(jinja, qwen)) t.default_system_ = qwen;
  } else if (contains(jinja, "<|start_header_id|>")) {
    TANDEM_CHECK(!contains(jinja, "Cutting Knowledge Date"), source,
                 ": the Llama-3.1 chat template (dates, tools) is not built in yet");
    t.kind_ = Kind::kLlama3;
    t.generation_prompt_always_ = !contains(jinja, "add_generation_prompt");
  } else {
    fail(source, ": chat_template is not one of the built-in formats (ChatML, Qwen3, Llama-3)");
  }
  return t;
}

ChatTemplate ChatTemplate::from_tokenizer_config(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  TANDEM_CHECK(j.is_object() && j.contains("chat_template") && j["chat_template"].is_string(), path,
               ": no chat_template string");
  std::string bos;
  if (j.contains("bos_token") && j["bos_token"].is_string()) bos = j["bos_token"].get<std::string>();
  if (j.contains("bos_token") && j["bos_token"].is_object())
    bos = json_get_or<std::string>(j["bos_token"], "content", "", path + ": bos_token");
  return detect(j["chat_template"].get<std::string>(), bos, path);
}

const char* ChatTemplate::name() const {
  return kind_ == Kind::kQwen3 ? "qwen3" : kind_ == Kind::kChatml ? "chatml" : "llama3";
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 std::optional<bool> enable_thinking) const {
  TANDEM_CHECK(!messages.empty(), "chat template: no messages");
  if (kind_ == Kind::kQwen3) return render_qwen3(messages, add_generation_prompt, enable_thinking);
  std::string out;
  if (kind_ == Kind::kChatml) {
    if (!default_system_.empty() && messages[0].role != "system")
      out += "<|im_start|>system\n" + default_system_ + "<|im_end|>\n";
    for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
  }
  out = bos_token_;
  for (const auto& m : messages)
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
  if (add_generation_prompt || generation_prompt_always_) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

}  // namespace tandem
