#include "eval/multiple_choice_items.h"

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "data/jsonl_lines.h"
#include "io/json_file.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {

using nlohmann::json;

std::vector<std::string> strings_at(const json& j, const std::string& key, const std::string& where) {
  const auto it = j.find(key);
  TANDEM_CHECK(it != j.end() && it->is_array() && !it->empty(), where, ": '", key,
               "' must be a non-empty list of strings");
  std::vector<std::string> out;
  for (const json& s : *it) {
    TANDEM_CHECK(s.is_string(), where, ": '", key, "' holds ", json_excerpt(s), ", not a string");
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::vector<int32_t> ids_of(const json& v, const std::string& what, const std::string& where, int64_t vocab_size) {
  TANDEM_CHECK(v.is_array() && !v.empty(), where, ": '", what, "' must be a non-empty list of token ids");
  std::vector<int32_t> out;
  for (const json& id : v) {
    TANDEM_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (int64_t(1) << 31), where,
                 ": '", what, "' holds ", json_excerpt(id), ", not a token id");
    TANDEM_CHECK(vocab_size <= 0 || id.get<int64_t>() < vocab_size, where, ": '", what, "' holds id ",
                 id.get<int64_t>(), ", outside the model's vocabulary of ", vocab_size);
    out.push_back(id.get<int32_t>());
  }
  return out;
}

// "answer": an index, or a letter "A".."Z" (MMLU's and many datasets' way of naming the gold choice).
int64_t answer_index(const json& a, size_t n_choices, const std::string& where) {
  int64_t k = -1;
  if (a.is_number_integer()) {
    k = a.get<int64_t>();
  } else if (a.is_string() && a.get<std::string>().size() == 1 && a.get<std::string>()[0] >= 'A' &&
             a.get<std::string>()[0] <= 'Z') {
    k = a.get<std::string>()[0] - 'A';
  } else {
    fail(where, ": 'answer' must be a choice index or a letter A..Z, got ", json_excerpt(a));
  }
  TANDEM_CHECK(k >= 0 && k < int64_t(n_choices), where, ": answer ", json_excerpt(a), " is outside the ", n_choices,
               " choices");
  return k;
}

// The choice texts and gold index of a text line (MMLU-like or ARC-shaped).
std::pair<std::vector<std::string>, int64_t> text_choices(const json& j, const std::string& where) {
  const auto it = j.find("choices");
  TANDEM_CHECK(it != j.end(), where, ": missing key 'choices'");
  if (it->is_object()) {  // ARC: {"text": [...], "label": [...]} and "answerKey" one of the labels
    std::vector<std::string> text = strings_at(*it, "text", where + ": choices"),
                             label = strings_at(*it, "label", where + ": choices");
    TANDEM_CHECK(text.size() == label.size(), where, ": choices has ", text.size(), " texts but ", label.size(),
                 " labels");
    const auto key = j.find("answerKey");
    TANDEM_CHECK(key != j.end() && key->is_string(), where, ": an ARC-style line needs 'answerKey' (a label)");
    for (size_t k = 0; k < label.size(); ++k)
      if (label[k] == key->get<std::string>()) return {text, int64_t(k)};
    fail(where, ": answerKey '", key->get<std::string>(), "' is none of the choices' labels");
  }
  std::vector<std::string> text = strings_at(j, "choices", where);
  const auto answer = j.find("answer");
  TANDEM_CHECK(answer != j.end(), where, ": missing key 'answer'");
  return {text, answer_index(*answer, text.size(), where)};
}

MultipleChoiceItem text_item(const json& j, const std::string& where, const BpeTokenizer* tokenizer,
                             const MultipleChoiceOptions& o) {
  TANDEM_CHECK(tokenizer, where, ": a text item needs a tokenizer (the model folder has no tokenizer.json); "
               "pre-tokenized items use context_ids and choices_ids");
  auto [texts, answer] = text_choices(j, where);
  MultipleChoiceItem item{.answer = answer, .where = where};
  std::string context;
  if (const auto c = j.find("context"); c != j.end()) {
    // The data's own prompt, used as it is (lm-eval tasks whose doc_to_text is a field, as HellaSwag's ctx).
    TANDEM_CHECK(c->is_string() && !j.contains("question"), where,
                 ": 'context' must be a string, and a line has either 'context' or 'question'");
    TANDEM_CHECK(o.style == PromptStyle::kCloze, where, ": a 'context' item is scored as a cloze (no letters)");
    context = c->get<std::string>();
  } else {
    const auto q = j.find("question");
    TANDEM_CHECK(q != j.end() && q->is_string(), where, ": 'question' (or 'context') must be a string");
    context = q->get<std::string>();
    if (o.style == PromptStyle::kLetters) {
      TANDEM_CHECK(texts.size() <= 26, where, ": letters style names at most 26 choices, got ", texts.size());
      // Appended piece by piece: GCC 12's -Wrestrict misfires on chains of "literal" + std::string temporaries.
      for (size_t k = 0; k < texts.size(); ++k)
        context.append("\n").append(1, char('A' + k)).append(". ").append(texts[k]);
    } else {
      context.insert(0, "Question: ");
    }
    context += "\nAnswer:";
  }
  for (size_t k = 0; k < texts.size(); ++k) {
    // lm-eval's doc_to_choice: the letter in MMLU's prompt, the choice text in a cloze prompt.
    const std::string choice = o.style == PromptStyle::kLetters ? std::string(1, char('A' + k)) : texts[k];
    TANDEM_CHECK(!choice.empty(), where, ": choice ", k, " is empty (acc_norm divides by its length)");
    auto [ctx, cont] = encode_pair(*tokenizer, context, " " + choice, o.add_special_tokens);  // target_delimiter
    TANDEM_CHECK(!cont.empty(), where, ": choice ", k, " encodes to no tokens");
    item.context = std::move(ctx);
    item.choices.push_back(std::move(cont));
    item.choice_texts.push_back(choice);
  }
  TANDEM_CHECK(!item.context.empty(), where, ": the context encodes to no tokens");
  return item;
}

MultipleChoiceItem token_item(const json& j, const std::string& where, const MultipleChoiceOptions& o) {
  MultipleChoiceItem item{.context = ids_of(j.at("context_ids"), "context_ids", where, o.vocab_size), .where = where};
  const auto choices = j.find("choices_ids");
  TANDEM_CHECK(choices != j.end() && choices->is_array() && !choices->empty(), where,
               ": 'choices_ids' must be a non-empty list of token id lists");
  for (const json& c : *choices) item.choices.push_back(ids_of(c, "choices_ids", where, o.vocab_size));
  if (j.contains("choices")) {
    item.choice_texts = strings_at(j, "choices", where);
    TANDEM_CHECK(item.choice_texts.size() == item.choices.size(), where, ": ", item.choice_texts.size(),
                 " choices texts for ", item.choices.size(), " choices_ids");
    for (size_t k = 0; k < item.choice_texts.size(); ++k)
      TANDEM_CHECK(!item.choice_texts[k].empty(), where, ": choice ", k, " is empty (acc_norm divides by its length)");
  }
  const auto answer = j.find("answer");
  TANDEM_CHECK(answer != j.end(), where, ": missing key 'answer'");
  item.answer = answer_index(*answer, item.choices.size(), where);
  return item;
}

// The length of s.rstrip() in bytes. Python's str.isspace(): the White_Space property plus U+001C..U+001F.
size_t rstrip_length(const std::string& s) {
  size_t keep = 0;
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const char32_t cp = utf8_decode_at(s, i, &len);
    if (!is_whitespace(cp) && !(cp >= 0x1c && cp <= 0x1f)) keep = i + len;
  }
  return keep;
}

}  // namespace

PromptStyle parse_prompt_style(const std::string& name) {
  if (name == "cloze") return PromptStyle::kCloze;
  if (name == "letters") return PromptStyle::kLetters;
  fail("prompt style must be cloze or letters, got '", name, "'");
}

std::pair<std::vector<int32_t>, std::vector<int32_t>> encode_pair(const BpeTokenizer& tokenizer, std::string context,
                                                                  std::string continuation, bool add_special_tokens) {
  const size_t keep = rstrip_length(context);
  continuation = context.substr(keep) + continuation;
  context.resize(keep);
  std::vector<int32_t> whole = tokenizer.encode(context + continuation, add_special_tokens);
  std::vector<int32_t> ctx = tokenizer.encode(context, add_special_tokens);
  const size_t n = std::min(ctx.size(), whole.size());
  return {std::move(ctx), std::vector<int32_t>(whole.begin() + int64_t(n), whole.end())};
}

std::vector<MultipleChoiceItem> load_multiple_choice(const std::string& path, const BpeTokenizer* tokenizer,
                                                     const MultipleChoiceOptions& options) {
  std::vector<MultipleChoiceItem> items;
  for_each_jsonl_object<json>(path, [&](const json& j, const std::string& where) {
    if (options.limit > 0 && int64_t(items.size()) >= options.limit) return false;
    items.push_back(j.contains("context_ids") ? token_item(j, where, options)
                                              : text_item(j, where, tokenizer, options));
    return true;
  });
  TANDEM_CHECK(!items.empty(), path, ": no multiple-choice items");
  return items;
}

}  // namespace tandem
