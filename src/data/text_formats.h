// JSONL datasets in the shapes people bring, detected per line by their keys, tokenized into examples.
//
// SFT lines:
//   {"prompt_ids": [...], "completion_ids": [...]}             pre-tokenized
//   {"messages": [{"role", "content"}, ...]}                     conversational: the last turn (assistant) is the
//                                                                completion, the rest the prompt (chat template)
//   {"instruction", "input"?, "output"}                          Alpaca: one user turn and the answer
//   {"prompt": str, "completion": str}                           standard: plain text + EOS (no template, as TRL)
//   {"prompt": [messages], "completion": [messages]}             conversational prompt/completion
//   {"text": str}                                                language modelling: every token scored (the key is
//                                                                dataset_text_field's, "text" by default)
// Preference lines:
//   {"prompt_ids", "chosen_ids", "rejected_ids"}                 pre-tokenized
//   {"prompt": str, "chosen": str, "rejected": str}              standard: plain text + EOS
//   {"prompt": str|[messages], "chosen": [messages], "rejected": [messages]}
//                                                                conversational; chosen/rejected may be the whole
//                                                                conversation (UltraFeedback) or the answer only
//   {"chosen": "\n\nHuman: ...\n\nAssistant: ...", "rejected": ...}
//                                                                HH-RLHF: the shared dialogue up to the last
//                                                                "\n\nAssistant:" is the prompt
// With a chat template, conversational shapes (and Alpaca, and HH-RLHF dialogues) are rendered with it; messages may
// carry tool_calls, tool_call_id and name, and a row's "tools" list reaches the template. The completion is what the
// full rendering adds to the prompt's rendering with the generation prompt, ending with the template's end-of-turn
// token (ChatTemplate::completion): nothing after it. A malformed line is an error naming file:line and the problem.
// Any line may carry "accepted": ["answer", ...], the exact answers a judge accepts (eval/judges.h); it is kept on
// the example whatever the line's shape.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/examples.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/chat_template.h"

namespace tandem {

struct TextEncoder {
  const BpeTokenizer* tokenizer = nullptr;
  const ChatTemplate* chat_template = nullptr;  // null: conversational data is an error
  int32_t eos_id = -1;                          // appended to plain-text completions (-1: none)
  int64_t vocab_size = 0;  // the model's: a pre-tokenized id at or beyond it is an error at its line (0: unchecked)
};

// `encoder` may be null for pre-tokenized files (ids are then not checked against a vocabulary); a text line then is
// an error saying a tokenizer is needed. An encoder without a tokenizer checks pre-tokenized ids only.
// `text_field` is TRL's dataset_text_field: the key of a language-modelling line ("text" by default).
std::vector<SftExample> load_sft_dataset(const std::string& path, const TextEncoder* encoder,
                                         const std::string& text_field = "text");
std::vector<PreferenceExample> load_preference_dataset(const std::string& path, const TextEncoder* encoder);

}  // namespace tandem
