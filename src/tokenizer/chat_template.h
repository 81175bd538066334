// Chat templates as built-in renderers, detected from tokenizer_config.json's Jinja chat_template:
//   qwen3   ChatML with Qwen3's reasoning blocks (<think>) and enable_thinking
//   chatml  plain ChatML (<|im_start|>role\n...<|im_end|>), optionally with Qwen2.5's default system prompt
//   llama3  <|start_header_id|>role<|end_header_id|>\n\n content (trimmed) <|eot_id|>, bos first
// Rendering is verified against @huggingface/jinja running the real templates (tests/hf/render.mjs).
// A template that is none of these is an error, never a silent mis-rendering.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace tandem {

struct ChatMessage {
  std::string role;  // system | user | assistant | tool
  std::string content;
  std::optional<std::string> reasoning_content;  // Qwen3 assistant reasoning
};

class ChatTemplate {
 public:
  enum class Kind { kQwen3, kChatml, kLlama3 };

  static ChatTemplate from_tokenizer_config(const std::string& tokenizer_config_json_path);
  // `jinja` is the template text; bos_token is what the template calls bos_token.
  static ChatTemplate detect(const std::string& jinja, const std::string& bos_token, const std::string& source);

  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     std::optional<bool> enable_thinking = std::nullopt) const;
  Kind kind() const { return kind_; }
  const char* name() const;

 private:
  Kind kind_ = Kind::kChatml;
  std::string bos_token_;
  std::string default_system_;            // chatml: Qwen2.5's, when the template has one
  bool generation_prompt_always_ = false;  // llama3 templates that add the header unconditionally
};

}  // namespace tandem
