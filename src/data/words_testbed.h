// The natural-language forgetting testbed ("words"), built from WordNet's adjectives (data/wordnet.h). SFT data asks
// "What is the opposite of hot?" and answers with an antonym (" cold"); preference data asks "What is another word
// for hot?" and prefers a synonym (" warm") over that same antonym. A model can satisfy both, but DPO pushes the
// antonym answers down after any question about the word, so DPO after SFT undoes SFT (as the toy task's
// reverse-vs-copy, data/toy_task.h). Words are split into training and held-out sets, antonym groups kept together,
// so a held-out word's prompts and answers appear only in the eval sets (and in the pretraining corpus, which
// teaches the base every relation but neither question's behaviour). Plain {"prompt", "completion"} text lines
// (no chat template); lines carry "accepted": every WordNet antonym (or synonym) of the word, for exact
// judges. Deterministic given the options.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/wordnet.h"

namespace tandem {

struct WordsTestbedOptions {
  int64_t words = 300;          // the most used adjectives with a one-word antonym and synonym
  double held_out_fraction = 0.2;
  int64_t qa_repeats = 4;       // pretraining: random-answer questions per word (either style, either relation)
  uint64_t seed = 0;
  int64_t hidden_size = 128, layers = 2;
  int64_t pretrain_steps = 2400, steps = 150;  // pretraining and sweep-run lengths
  std::string wordnet_dir = "/usr/share/wordnet";
  // What train.toml evaluates f_SFT and f_DPO on: "training" (the training words' eval lines) or "held_out". The
  // default is "training": the demo's base (0.69 M parameters, 2400 steps) does not carry SFT or DPO over to unseen
  // words (held-out f_SFT rises from 0.82 to 2.05 during SFT-only training, measured), so forgetting shows only on
  // what was trained.
  std::string eval_words = "training";
};

struct WordsSplit {
  std::vector<WordNetAdjective> train, held_out;
};

// The chosen words, split by seed; a word and its antonyms among the chosen words share a side.
WordsSplit choose_words(const WordsTestbedOptions& options);

// The pretraining corpus ({"text"} lines: glosses, relation statements, random-answer questions), shuffled.
std::vector<std::string> words_pretraining_texts(const WordsSplit& split, const WordsTestbedOptions& options);

// Writes into `dir`: sft.jsonl, preference.jsonl (training words), sft_eval.jsonl, preference_eval.jsonl (held-out
// words; every line with "accepted"), multiple_choice.jsonl (a definition and four words, lm-eval's question/choices/answer),
// pretrain.jsonl, words.json (the split). The tokenizer, config.json and the tomls are written by
// write_words_configs once a tokenizer exists.
void write_words_data(const std::string& dir, const WordsTestbedOptions& options = {});

// Writes config.json (a tiny Llama with the tokenizer's vocabulary), pretrain.toml (base model from pretrain.jsonl)
// and train.toml (joint training) into `dir`; `tokenizer_dir` is the tokenizer folder the runs read.
void write_words_configs(const std::string& dir, const std::string& tokenizer_dir, int64_t vocab_size,
                         const WordsTestbedOptions& options = {});

}  // namespace tandem
