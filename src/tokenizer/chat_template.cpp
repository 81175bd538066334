#include "tokenizer/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/check.h"
#include "io/json_file.h"

namespace tandem {

namespace {

using ojson = nlohmann::ordered_json;

// transformers' special_tokens_map keys; each a string or an AddedToken object {"content": ...}.
const char* const kSpecialTokenKeys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                          "pad_token", "cls_token", "mask_token"};

std::optional<std::string> token_text(const ojson& t) {
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string()) return t["content"].get<std::string>();
  return std::nullopt;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TANDEM_CHECK(in, path, ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::shared_ptr<const jinja::Template> parse(const std::string& text, const std::string& source) {
  try {
    return std::make_shared<const jinja::Template>(text);
  } catch (const Error& e) {
    fail(source, ": ", e.what());
  }
}

}  // namespace

ojson ChatMessage::to_json() const {
  ojson m = ojson::object();
  m["role"] = role;
  m["content"] = content_is_null ? ojson(nullptr) : ojson(content);
  if (reasoning_content) m["reasoning_content"] = *reasoning_content;
  if (!tool_calls.empty()) {
    ojson calls = ojson::array();
    for (const auto& c : tool_calls) {
      ojson call = ojson::object();
      if (!c.id.empty()) call["id"] = c.id;
      call["type"] = "function";
      call["function"] = ojson{{"name", c.name}, {"arguments", c.arguments}};
      calls.push_back(call);
    }
    m["tool_calls"] = calls;
  }
  if (!tool_call_id.empty()) m["tool_call_id"] = tool_call_id;
  if (!name.empty()) m["name"] = name;
  return m;
}

ChatMessage ChatMessage::from_json(const ojson& m, const std::string& where) {
  TANDEM_CHECK(m.is_object() && m.contains("role") && m["role"].is_string(), where,
               ": every message needs a string \"role\"");
  ChatMessage out;
  out.role = m["role"].get<std::string>();
  const bool has_calls = m.contains("tool_calls") && !m["tool_calls"].is_null();
  if (m.contains("content") && m["content"].is_string()) {
    out.content = m["content"].get<std::string>();
  } else {
    TANDEM_CHECK(has_calls && (!m.contains("content") || m["content"].is_null()), where,
                 ": message \"content\" must be a string (or null in an assistant turn with tool_calls)");
    out.content_is_null = true;
  }
  if (m.contains("reasoning_content") && m["reasoning_content"].is_string())
    out.reasoning_content = m["reasoning_content"].get<std::string>();
  if (has_calls) {
    TANDEM_CHECK(m["tool_calls"].is_array(), where, ": \"tool_calls\" must be a list");
    for (const auto& c : m["tool_calls"]) {
      const ojson& f = c.is_object() && c.contains("function") ? c["function"] : c;
      TANDEM_CHECK(f.is_object() && f.contains("name") && f["name"].is_string(), where,
                   ": every tool call needs {\"function\": {\"name\": string, \"arguments\": ...}}");
      ToolCall call;
      call.name = f["name"].get<std::string>();
      if (f.contains("arguments")) call.arguments = f["arguments"];
      if (c.contains("id") && c["id"].is_string()) call.id = c["id"].get<std::string>();
      out.tool_calls.push_back(std::move(call));
    }
  }
  if (m.contains("tool_call_id") && m["tool_call_id"].is_string()) out.tool_call_id = m["tool_call_id"].get<std::string>();
  if (m.contains("name") && m["name"].is_string()) out.name = m["name"].get<std::string>();
  return out;
}

ChatTemplate ChatTemplate::from_text(const std::string& jinja, std::map<std::string, std::string> special_tokens,
                                     std::vector<std::string> added_tokens, const std::string& source) {
  ChatTemplate t;
  t.source_ = source;
  t.templates_["default"] = parse(jinja, source);
  t.special_tokens_ = std::move(special_tokens);
  t.added_tokens_ = std::move(added_tokens);
  t.find_end_of_turn();
  return t;
}

ChatTemplate ChatTemplate::from_tokenizer_config(const std::string& path) {
  namespace fs = std::filesystem;
  const ojson j = [&] {
    const nlohmann::json plain = read_json_file(path);  // parse errors named as the project does
    return ojson::parse(plain.dump());
  }();
  TANDEM_CHECK(j.is_object(), path, ": expected a JSON object");
  ChatTemplate t;
  const std::string jinja_file = (fs::path(path).parent_path() / "chat_template.jinja").string();
  if (fs::exists(jinja_file)) {
    t.source_ = jinja_file;
    t.templates_["default"] = parse(read_text(jinja_file), jinja_file);
  } else {
    TANDEM_CHECK(j.contains("chat_template"), path, ": no chat_template (and no chat_template.jinja beside it)");
    const ojson& ct = j["chat_template"];
    if (ct.is_string()) {
      t.source_ = path;
      t.templates_["default"] = parse(ct.get<std::string>(), path);
    } else {
      TANDEM_CHECK(ct.is_array(), path, ": chat_template must be a string or a list of {\"name\", \"template\"}");
      for (const auto& entry : ct) {
        TANDEM_CHECK(entry.is_object() && entry.contains("name") && entry["name"].is_string() &&
                         entry.contains("template") && entry["template"].is_string(),
                     path, ": every chat_template entry needs string \"name\" and \"template\"");
        const std::string name = entry["name"].get<std::string>();
        t.templates_[name] = parse(entry["template"].get<std::string>(), path + " chat_template '" + name + "'");
      }
      TANDEM_CHECK(t.templates_.count("default"), path, ": chat_template list has no \"default\" entry");
      t.source_ = path;
    }
  }
  for (const char* key : kSpecialTokenKeys)
    if (j.contains(key))
      if (auto text = token_text(j[key])) t.special_tokens_[key] = *text;
  if (j.contains("additional_special_tokens") && j["additional_special_tokens"].is_array()) {
    t.additional_special_tokens_ = ojson::array();
    for (const auto& tok : j["additional_special_tokens"])
      if (auto text = token_text(tok)) t.additional_special_tokens_.push_back(*text);
  }
  if (j.contains("added_tokens_decoder") && j["added_tokens_decoder"].is_object())
    for (const auto& [id, tok] : j["added_tokens_decoder"].items())
      if (auto text = token_text(tok)) t.added_tokens_.push_back(*text);
  // tokenizer.json's added tokens, for configs without added_tokens_decoder (DeepSeek-V3).
  const std::string tokenizer_json = (fs::path(path).parent_path() / "tokenizer.json").string();
  if (t.added_tokens_.empty() && fs::exists(tokenizer_json)) {
    const nlohmann::json tj = read_json_file(tokenizer_json);
    if (tj.is_object() && tj.contains("added_tokens") && tj["added_tokens"].is_array())
      for (const auto& tok : tj["added_tokens"])
        if (tok.is_object() && tok.contains("content") && tok["content"].is_string())
          t.added_tokens_.push_back(tok["content"].get<std::string>());
  }
  for (const auto& [key, text] : t.special_tokens_) t.added_tokens_.push_back(text);
  t.find_end_of_turn();
  return t;
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 std::optional<bool> enable_thinking) const {
  ojson list = ojson::array();
  for (const auto& m : messages) list.push_back(m.to_json());
  ojson kwargs = ojson::object();
  if (enable_thinking) kwargs["enable_thinking"] = *enable_thinking;
  return render(list, add_generation_prompt, nullptr, kwargs);
}

std::string ChatTemplate::render(const ojson& messages, bool add_generation_prompt, const ojson& tools,
                                 const ojson& kwargs) const {
  TANDEM_CHECK(messages.is_array() && !messages.empty(), "chat template: no messages");
  const bool with_tools = !tools.is_null();
  const auto tool_use = templates_.find("tool_use");
  const jinja::Template& tmpl =
      with_tools && tool_use != templates_.end() ? *tool_use->second : *templates_.at("default");
  ojson context = ojson::object();
  context["messages"] = messages;
  context["tools"] = tools;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = add_generation_prompt;
  for (const auto& [key, text] : special_tokens_) context[key] = text;
  if (!additional_special_tokens_.is_null()) context["additional_special_tokens"] = additional_special_tokens_;
  for (const auto& [key, value] : kwargs.items()) context[key] = value;
  try {
    return tmpl.render(context, options_);
  } catch (const Error& e) {
    fail(source_, ": ", e.what());
  }
}

void ChatTemplate::find_end_of_turn() {
  const std::string answer = "tandem-probe-answer";
  std::string text;
  try {
    text = render({ChatMessage("user", "tandem-probe-question"), ChatMessage("assistant", answer)}, false);
  } catch (const Error&) {
    text.clear();  // a template that rejects the probe: fall back to the eos token
  }
  const size_t after = text.find(answer);
  size_t best = std::string::npos;
  if (after != std::string::npos) {
    for (const auto& tok : added_tokens_) {
      if (tok.empty()) continue;
      const size_t at = text.find(tok, after + answer.size());
      if (at != std::string::npos && (at < best || (at == best && tok.size() > end_of_turn_.size()))) {
        best = at;
        end_of_turn_ = tok;
      }
    }
  }
  if (best == std::string::npos) {
    const auto eos = special_tokens_.find("eos_token");
    end_of_turn_ = eos == special_tokens_.end() ? "" : eos->second;
  }
}

std::string ChatTemplate::completion(const std::string& prompt_text, const std::string& full_text,
                                     const std::string& where) const {
  TANDEM_CHECK(full_text.compare(0, prompt_text.size(), prompt_text) == 0, where,
               ": the chat template's rendering of the conversation does not start with its rendering of the "
               "prompt, so the completion cannot be separated");
  std::string rest = full_text.substr(prompt_text.size());
  if (!end_of_turn_.empty()) {
    const size_t at = rest.rfind(end_of_turn_);
    if (at != std::string::npos) rest.resize(at + end_of_turn_.size());
  }
  return rest;
}

}  // namespace tandem
