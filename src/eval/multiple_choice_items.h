// Multiple-choice items (MMLU, ARC and the like) read from JSONL and tokenized as lm-evaluation-harness does for a
// causal model (lm_eval/models/huggingface.py, HFLM):
//   _encode_pair: "n_spaces = len(context) - len(context.rstrip()); if n_spaces > 0: continuation =
//     context[-n_spaces:] + continuation; context = context[:-n_spaces]", then "whole_enc = self.tok_encode(context +
//     continuation); context_enc = self.tok_encode(context); continuation_enc = whole_enc[context_enc_len:]".
//   tok_encode: "special_tokens_kwargs = {"add_special_tokens": False or self.add_bos_token}", i.e. no special
//     tokens by default (add_bos_token=True adds the post-processor's, e.g. a BOS).
// Lines (each a JSON object; a malformed one is an error naming file:line):
//   {"question": str, "choices": [str, ...], "answer": int | "A".."Z"}                         MMLU-like
//   {"question": str, "choices": {"text": [...], "label": [...]}, "answerKey": label}          ARC
//   {"context_ids": [...], "choices_ids": [[...], ...], "answer": k, "choices": [str, ...]?}  pre-tokenized
// Pre-tokenized items without "choices" texts have no byte lengths, so acc_norm is not computed for them.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/bpe_tokenizer.h"

namespace tandem {

// cloze (ARC/HellaSwag style): context "Question: {question}\nAnswer:", continuations " {choice}".
// letters (MMLU style): "{question}\nA. {choice 0}\nB. {choice 1}...\nAnswer:", continuations " A", " B", ...
enum class PromptStyle { kCloze, kLetters };
PromptStyle parse_prompt_style(const std::string& name);  // "cloze" | "letters"; another name is an error

struct MultipleChoiceItem {
  std::vector<int32_t> context = {};          // token ids
  std::vector<std::vector<int32_t>> choices = {};  // each choice's continuation token ids
  // The texts acc_norm divides by (lm-eval's doc_to_choice: the choice itself, or the letter in letters style);
  // empty for a pre-tokenized item without "choices".
  std::vector<std::string> choice_texts = {};
  int64_t answer = 0;  // index of the gold choice
  std::string where = {};  // "file:line", for errors and --out
};

struct MultipleChoiceOptions {
  PromptStyle style = PromptStyle::kCloze;
  bool add_special_tokens = false;  // lm-eval's add_bos_token
  int64_t limit = 0;                // the first N items (0: all)
  int64_t vocab_size = 0;           // pre-tokenized ids must be below it (0: unchecked)
};

// lm-eval's _encode_pair: (context ids, continuation ids).
std::pair<std::vector<int32_t>, std::vector<int32_t>> encode_pair(const BpeTokenizer& tokenizer, std::string context,
                                                                  std::string continuation, bool add_special_tokens);

// `tokenizer` may be null when every line is pre-tokenized; a text line then is an error saying so.
std::vector<MultipleChoiceItem> load_multiple_choice(const std::string& path, const BpeTokenizer* tokenizer,
                                                     const MultipleChoiceOptions& options);

}  // namespace tandem
