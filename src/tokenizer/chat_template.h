// Chat templates: the Jinja template a tokenizer ships (tokenizer_config.json's chat_template, a list of named
// templates there, or chat_template.jinja beside it), rendered by the interpreter in tokenizer/jinja/ with the
// context transformers gives templates: messages, tools, documents (none), add_generation_prompt, the special tokens
// (bos_token, eos_token, ...), and extra keyword arguments such as enable_thinking.
// Rendering equals @huggingface/jinja's on the real templates (tests/hf/render.mjs, tests/test_chat_template.cpp).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja/template.h"

namespace tandem {

struct ToolCall {
  std::string id;  // may be empty
  std::string name;
  nlohmann::ordered_json arguments = nlohmann::ordered_json::object();  // an object (or a string, if given so)
};

struct ChatMessage {
  ChatMessage() = default;
  ChatMessage(std::string r, std::string c, std::optional<std::string> reasoning = std::nullopt)
      : role(std::move(r)), content(std::move(c)), reasoning_content(std::move(reasoning)) {}

  std::string role;  // system | user | assistant | tool (or whatever the template accepts)
  std::string content;
  std::optional<std::string> reasoning_content;  // Qwen3 assistant reasoning
  std::vector<ToolCall> tool_calls;              // assistant: the functions it calls
  std::string tool_call_id;                      // tool: the call this answers
  std::string name;                              // tool: the function that answered
  bool content_is_null = false;                  // content was null (an assistant turn with only tool calls)

  // As transformers passes it: {"role", "content", "tool_calls": [{"id", "type": "function", "function": {"name",
  // "arguments"}}], ...}, keys present only when set.
  nlohmann::ordered_json to_json() const;
  // From a dataset's message object; `where` names the file and line in errors.
  static ChatMessage from_json(const nlohmann::ordered_json& m, const std::string& where);
};

class ChatTemplate {
 public:
  // Reads tokenizer_config.json (and chat_template.jinja beside it, which wins, as in transformers).
  static ChatTemplate from_tokenizer_config(const std::string& tokenizer_config_json_path);
  // A template given as text; `special_tokens` maps bos_token/eos_token/... to their text, `added_tokens` lists the
  // texts of the tokenizer's added tokens (used to find where a turn ends).
  static ChatTemplate from_text(const std::string& jinja, std::map<std::string, std::string> special_tokens,
                                std::vector<std::string> added_tokens, const std::string& source);

  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     std::optional<bool> enable_thinking = std::nullopt) const;
  // Messages (and tools) as JSON, passed to the template unchanged; `kwargs` adds variables (e.g. enable_thinking).
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& tools = nullptr,
                     const nlohmann::ordered_json& kwargs = nlohmann::ordered_json::object()) const;

  // The prompt/completion split. `prompt_text` renders the prompt with the generation prompt, `full_text` the prompt
  // and the answer without it; the completion is what full_text adds, cut right after its last end-of-turn token
  // (so no next-turn header or newline after <|im_end|>). Throws, naming `where`, if prompt_text is no prefix.
  std::string completion(const std::string& prompt_text, const std::string& full_text, const std::string& where) const;
  // The text that ends an assistant turn in this template (<|im_end|>, <|eot_id|>, <end_of_turn>, ...): the first
  // added token the template writes after the answer of a probe conversation; the eos token if none; "" if neither.
  const std::string& end_of_turn() const { return end_of_turn_; }

  const char* name() const { return source_.c_str(); }  // where the template came from
  // Fixed clock for tests (strftime_now); the local time when unset.
  void set_strftime_now(std::function<std::string(const std::string&)> f) { options_.strftime_now = std::move(f); }

 private:
  std::map<std::string, std::shared_ptr<const jinja::Template>> templates_;  // "default", "tool_use", ...
  std::map<std::string, std::string> special_tokens_;
  nlohmann::ordered_json additional_special_tokens_;  // their texts, when tokenizer_config.json lists them
  std::vector<std::string> added_tokens_;
  std::string end_of_turn_;
  std::string source_;
  jinja::RenderOptions options_;

  void find_end_of_turn();
};

}  // namespace tandem
