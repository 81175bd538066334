#include "data/text_formats.h"

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "data/jsonl_lines.h"
#include "data/training_text.h"

namespace tandem {

namespace {

using json = nlohmann::ordered_json;  // rows keep their key order (tool-call arguments render as written)

// vocab_size > 0: ids must be below it (the model's vocabulary), found here with the line, not at batch time.
std::vector<int32_t> ids_field(const json& j, const char* key, const std::string& where, bool may_be_empty,
                               int64_t vocab_size) {
  TANDEM_CHECK(j.contains(key) && j[key].is_array(), where, ": field \"", key, "\" must be an array of token ids");
  std::vector<int32_t> out;
  for (const auto& x : j[key]) {
    TANDEM_CHECK(x.is_number_integer() && x.get<int64_t>() >= 0 && x.get<int64_t>() < (int64_t{1} << 31), where,
                 ": field \"", key, "\" holds ", x.dump(), ", not a token id");
    TANDEM_CHECK(vocab_size <= 0 || x.get<int64_t>() < vocab_size, where, ": field \"", key, "\" holds token id ",
                 x.dump(), ", outside the model's vocabulary of ", vocab_size);
    out.push_back(x.get<int32_t>());
  }
  TANDEM_CHECK(may_be_empty || !out.empty(), where, ": field \"", key, "\" is empty");
  return out;
}

std::string str_field(const json& j, const char* key, const std::string& where) {
  TANDEM_CHECK(j.contains(key) && j[key].is_string(), where, ": field \"", key, "\" must be a string");
  return j[key].get<std::string>();
}

std::vector<ChatMessage> messages_field(const json& v, const char* key, const std::string& where) {
  TANDEM_CHECK(v.is_array() && !v.empty(), where, ": field \"", key, "\" must be a non-empty list of messages");
  std::vector<ChatMessage> out;
  for (const auto& m : v) out.push_back(ChatMessage::from_json(m, where + ": field \"" + std::string(key) + "\""));
  return out;
}

json messages_json(const std::vector<ChatMessage>& messages) {
  json out = json::array();
  for (const auto& m : messages) out.push_back(m.to_json());
  return out;
}

// Per-line context: the encoder, checked for what the line needs.
struct Line {
  const TextEncoder* enc;
  std::string where;

  int64_t vocab_size() const { return enc ? enc->vocab_size : 0; }
  const BpeTokenizer& tokenizer() const {
    TANDEM_CHECK(enc && enc->tokenizer, where,
                 ": text example but no tokenizer (use a model folder with tokenizer.json, or tokenizer_name_or_path)");
    return *enc->tokenizer;
  }
  const ChatTemplate& chat() const {
    tokenizer();
    TANDEM_CHECK(enc->chat_template, where,
                 ": conversational example but the tokenizer has no chat template (tokenizer_config.json)");
    return *enc->chat_template;
  }
  std::vector<int32_t> text(const std::string& s, bool eos) const {
    std::vector<int32_t> ids = tokenizer().encode(s);
    if (eos && enc->eos_id >= 0) ids.push_back(enc->eos_id);
    return ids;
  }
  // Prompt ids and the ids of each response's completion: what the rendering of prompt + response adds to the
  // rendering of the prompt with the generation prompt, up to and including the template's end-of-turn token.
  // `tools` (the row's, or null) reach the template as transformers passes them.
  std::pair<std::vector<int32_t>, std::vector<std::vector<int32_t>>> chat_pair(
      const std::vector<ChatMessage>& prompt, const std::vector<std::vector<ChatMessage>>& responses,
      const json& tools = nullptr) const {
    const ChatTemplate& t = chat();
    const std::string prompt_text = t.render(messages_json(prompt), /*add_generation_prompt=*/true, tools);
    std::vector<std::vector<int32_t>> out;
    for (const auto& r : responses) {
      std::vector<ChatMessage> all = prompt;
      all.insert(all.end(), r.begin(), r.end());
      const std::string full = t.render(messages_json(all), false, tools);
      out.push_back(tokenizer().encode(t.completion(prompt_text, full, where)));
    }
    return {tokenizer().encode(prompt_text), out};
  }
};

// The optional "accepted" list of exact answers (eval/judges.h's "answers" judge).
std::vector<std::string> accepted_field(const json& j, const std::string& where) {
  if (!j.contains("accepted") || j["accepted"].is_null()) return {};
  TANDEM_CHECK(j["accepted"].is_array() && !j["accepted"].empty(), where,
               ": field \"accepted\" must be a non-empty list of strings (the answers a judge accepts)");
  std::vector<std::string> out;
  for (const auto& a : j["accepted"]) {
    TANDEM_CHECK(a.is_string(), where, ": field \"accepted\" holds ", a.dump(), ", not a string");
    out.push_back(a.get<std::string>());
  }
  return out;
}

json tools_field(const json& j, const std::string& where) {
  if (!j.contains("tools") || j["tools"].is_null()) return nullptr;
  TANDEM_CHECK(j["tools"].is_array(), where, ": field \"tools\" must be a list of tool schemas");
  return j["tools"];
}

// "\n\nHuman: a\n\nAssistant: b\n\nHuman: c" -> messages.
std::vector<ChatMessage> hh_dialogue(const std::string& text, const std::string& where) {
  std::vector<ChatMessage> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t human = text.find("\n\nHuman:", at), assistant = text.find("\n\nAssistant:", at);
    const size_t next = std::min(human, assistant);
    TANDEM_CHECK(next != std::string::npos && (at > 0 || next == 0), where,
                 ": HH-RLHF text must start with \"\\n\\nHuman:\"");
    const bool is_human = next == human;
    const size_t body = next + (is_human ? 8 : 12);
    const size_t end = std::min(text.find("\n\nHuman:", body), text.find("\n\nAssistant:", body));
    std::string content = text.substr(body, end == std::string::npos ? std::string::npos : end - body);
    if (!content.empty() && content[0] == ' ') content.erase(0, 1);
    out.push_back({is_human ? "user" : "assistant", content, std::nullopt});
    at = end == std::string::npos ? text.size() : end;
  }
  return out;
}

SftExample sft_example(const json& j, const Line& l, const std::string& text_field) {
  if (j.contains("prompt_ids"))
    return {ids_field(j, "prompt_ids", l.where, true, l.vocab_size()),
            ids_field(j, "completion_ids", l.where, false, l.vocab_size())};
  if (j.contains("messages")) {
    std::vector<ChatMessage> m = messages_field(j["messages"], "messages", l.where);
    TANDEM_CHECK(m.back().role == "assistant", l.where, ": the last message must be the assistant's answer");
    const ChatMessage answer = m.back();
    m.pop_back();
    TANDEM_CHECK(!m.empty(), l.where, ": the conversation needs a prompt before the answer");
    auto [prompt, completion] = l.chat_pair(m, {{answer}}, tools_field(j, l.where));
    return {prompt, completion[0]};
  }
  if (j.contains("instruction")) {
    std::string user = str_field(j, "instruction", l.where);
    const std::string input = j.contains("input") && j["input"].is_string() ? j["input"].get<std::string>() : "";
    const std::string output = str_field(j, "output", l.where);
    if (l.enc && l.enc->chat_template) {
      if (!input.empty()) user += "\n\n" + input;
      auto [prompt, completion] = l.chat_pair({{"user", user, std::nullopt}}, {{{"assistant", output, std::nullopt}}});
      return {prompt, completion[0]};
    }
    // The Alpaca paper's prompt format.
    const std::string prompt = "Below is an instruction that describes a task" +
                               std::string(input.empty() ? ". " : ", paired with an input that provides further context. ") +
                               "Write a response that appropriately completes the request.\n\n### Instruction:\n" +
                               user + (input.empty() ? "" : "\n\n### Input:\n" + input) + "\n\n### Response:\n";
    return {l.text(prompt, false), l.text(output, true)};
  }
  if (j.contains("prompt") && j.contains("completion")) {
    if (j["prompt"].is_array()) {
      auto [prompt, completion] = l.chat_pair(messages_field(j["prompt"], "prompt", l.where),
                                              {messages_field(j["completion"], "completion", l.where)},
                                              tools_field(j, l.where));
      return {prompt, completion[0]};
    }
    return {l.text(str_field(j, "prompt", l.where), false), l.text(str_field(j, "completion", l.where), true)};
  }
  if (j.contains(text_field)) return {{}, l.text(str_field(j, text_field.c_str(), l.where), true)};
  fail(l.where, ": unrecognised SFT example; expected one of prompt_ids/completion_ids, messages, "
                "instruction/output (Alpaca), prompt/completion, ", text_field,
       text_field == "text" ? "" : " (dataset_text_field)");
}

PreferenceExample preference_example(const json& j, const Line& l) {
  if (j.contains("prompt_ids"))
    return {ids_field(j, "prompt_ids", l.where, true, l.vocab_size()),
            ids_field(j, "chosen_ids", l.where, false, l.vocab_size()),
            ids_field(j, "rejected_ids", l.where, false, l.vocab_size())};
  TANDEM_CHECK(j.contains("chosen") && j.contains("rejected"), l.where,
               ": unrecognised preference example; expected prompt_ids/chosen_ids/rejected_ids, or chosen and "
               "rejected (with or without prompt)");
  if (j["chosen"].is_array()) {
    std::vector<ChatMessage> chosen = messages_field(j["chosen"], "chosen", l.where);
    std::vector<ChatMessage> rejected = messages_field(j["rejected"], "rejected", l.where);
    std::vector<ChatMessage> prompt;
    if (chosen.front().role != "assistant") {  // whole conversations (UltraFeedback): the last turn differs
      prompt.assign(chosen.begin(), chosen.end() - 1);
      const std::vector<ChatMessage> rejected_prompt(rejected.begin(), rejected.end() - 1);
      bool same = prompt.size() == rejected_prompt.size();
      for (size_t i = 0; same && i < prompt.size(); ++i)
        same = prompt[i].to_json() == rejected_prompt[i].to_json();
      TANDEM_CHECK(same, l.where, ": chosen and rejected conversations differ before their last turn");
      chosen = {chosen.back()};
      rejected = {rejected.back()};
    } else if (j.contains("prompt") && j["prompt"].is_array()) {
      prompt = messages_field(j["prompt"], "prompt", l.where);
    } else {
      prompt = {{"user", str_field(j, "prompt", l.where), std::nullopt}};
    }
    auto [p, responses] = l.chat_pair(prompt, {chosen, rejected}, tools_field(j, l.where));
    return {p, responses[0], responses[1]};
  }
  const std::string chosen = str_field(j, "chosen", l.where), rejected = str_field(j, "rejected", l.where);
  if (j.contains("prompt"))
    return {l.text(str_field(j, "prompt", l.where), false), l.text(chosen, true), l.text(rejected, true)};
  // HH-RLHF: the shared text up to the last "\n\nAssistant:" is the prompt.
  size_t common = 0;
  while (common < chosen.size() && common < rejected.size() && chosen[common] == rejected[common]) ++common;
  const size_t cut = chosen.rfind("\n\nAssistant:", common);
  TANDEM_CHECK(cut != std::string::npos, l.where,
               ": no prompt field and no shared \"\\n\\nAssistant:\" turn (HH-RLHF format expected)");
  const size_t split = cut + 12;
  if (l.enc && l.enc->chat_template) {
    const std::vector<ChatMessage> prompt = hh_dialogue(chosen.substr(0, cut), l.where);
    auto strip = [](std::string s) { return s.empty() || s[0] != ' ' ? s : s.substr(1); };
    auto [p, responses] = l.chat_pair(prompt, {{{"assistant", strip(chosen.substr(split)), std::nullopt}},
                                               {{"assistant", strip(rejected.substr(split)), std::nullopt}}});
    return {p, responses[0], responses[1]};
  }
  return {l.text(chosen.substr(0, split), false), l.text(chosen.substr(split), true),
          l.text(rejected.substr(split), true)};
}

}  // namespace

std::vector<SftExample> load_sft_dataset(const std::string& path, const TextEncoder* encoder,
                                         const std::string& text_field) {
  std::vector<SftExample> out;
  for_each_jsonl_object<json>(path, [&](const json& j, const std::string& where) {
    SftExample e = sft_example(j, Line{encoder, where}, text_field);
    e.accepted = accepted_field(j, where);
    TANDEM_CHECK(!e.completion.empty(), where, ": the completion is empty after tokenization");
    out.push_back(std::move(e));
    return true;
  });
  TANDEM_CHECK(!out.empty(), path, ": no examples");
  return out;
}

std::vector<PreferenceExample> load_preference_dataset(const std::string& path, const TextEncoder* encoder) {
  std::vector<PreferenceExample> out;
  for_each_jsonl_object<json>(path, [&](const json& j, const std::string& where) {
    PreferenceExample e = preference_example(j, Line{encoder, where});
    e.accepted = accepted_field(j, where);
    TANDEM_CHECK(!e.chosen.empty() && !e.rejected.empty(), where, ": a response is empty after tokenization");
    out.push_back(std::move(e));
    return true;
  });
  TANDEM_CHECK(!out.empty(), path, ": no examples");
  return out;
}

}  // namespace tandem
