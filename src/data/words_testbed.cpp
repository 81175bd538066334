#include "data/words_testbed.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>

#include "core/check.h"
#include "core/rng.h"
#include "data/toy_task.h"
#include "io/atomic_file.h"

namespace tandem {

namespace {

using json = nlohmann::json;

template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

std::string opposite_prompt(const std::string& w) { return "What is the opposite of " + w + "?"; }
std::string synonym_prompt(const std::string& w) { return "What is another word for " + w + "?"; }

// "used of physical heat; \"hot stove\"" -> the definition (before the first quoted example) and the examples.
std::string definition_of(const std::string& gloss) {
  std::string d = gloss.substr(0, gloss.find("; \""));
  if (!d.empty() && d[0] == '"') d.clear();
  return d;
}

std::string lines(const std::vector<json>& rows) {
  std::string s;
  for (const json& r : rows) s += r.dump() + "\n";
  return s;
}

}  // namespace

WordsSplit choose_words(const WordsTestbedOptions& o) {
  std::vector<WordNetAdjective> all = read_wordnet_adjectives(o.wordnet_dir);
  TANDEM_CHECK(o.words >= 4 && o.words <= int64_t(all.size()), "words testbed: words must be in [4, ", all.size(),
               "] (adjectives with a one-word antonym and synonym in ", o.wordnet_dir, "), got ", o.words);
  all.resize(size_t(o.words));
  // Antonym groups (union-find over the chosen words), so "opposite of cold" is not answered by training on
  // "opposite of hot".
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < all.size(); ++i) index[all[i].word] = i;
  std::vector<size_t> parent(all.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto root = [&](size_t i) { while (parent[i] != i) i = parent[i] = parent[parent[i]]; return i; };
  for (size_t i = 0; i < all.size(); ++i)
    for (const auto& a : all[i].antonyms)
      if (auto it = index.find(a); it != index.end()) parent[root(i)] = root(it->second);
  std::map<size_t, std::vector<size_t>> groups;
  for (size_t i = 0; i < all.size(); ++i) groups[root(i)].push_back(i);
  std::vector<std::vector<size_t>> order;
  for (auto& [r, members] : groups) order.push_back(members);
  Rng rng(o.seed);
  shuffle(order, rng);
  const size_t held_out_target = size_t(double(o.words) * o.held_out_fraction + 0.5);
  std::vector<bool> held(all.size(), false);
  size_t held_count = 0;
  for (const auto& g : order) {
    if (held_count >= held_out_target) break;
    for (size_t i : g) held[i] = true;
    held_count += g.size();
  }
  WordsSplit split;
  for (size_t i = 0; i < all.size(); ++i) (held[i] ? split.held_out : split.train).push_back(all[i]);
  TANDEM_CHECK(!split.train.empty() && !split.held_out.empty(), "words testbed: ", o.words,
               " words at held_out_fraction ", o.held_out_fraction, " leave one side empty");
  return split;
}

std::vector<std::string> words_pretraining_texts(const WordsSplit& split, const WordsTestbedOptions& o) {
  Rng rng(o.seed + 1);
  std::vector<std::string> texts;
  for (const auto* side : {&split.train, &split.held_out}) {
    for (const WordNetAdjective& a : *side) {
      for (size_t g = 0; g < a.glosses.size() && g < 2; ++g) texts.push_back(a.word + ": " + a.glosses[g] + ".");
      for (size_t i = 0; i < a.antonyms.size() && i < 3; ++i)
        texts.push_back("The opposite of " + a.word + " is " + a.antonyms[i] + ".");
      for (size_t i = 0; i < a.synonyms.size() && i < 3; ++i)
        texts.push_back("Another word for " + a.word + " is " + a.synonyms[i] + ".");
      // Either question answered at random with the main antonym or synonym: the base can give both answers
      // and prefers neither, so SFT and DPO each have something to decide.
      for (int64_t r = 0; r < o.qa_repeats; ++r) {
        const std::string q = rng.bernoulli(0.5) ? opposite_prompt(a.word) : synonym_prompt(a.word);
        texts.push_back(q + " " + (rng.bernoulli(0.5) ? a.antonyms[0] : a.synonyms[0]));
      }
    }
  }
  shuffle(texts, rng);
  return texts;
}

void write_words_data(const std::string& dir, const WordsTestbedOptions& o) {
  std::filesystem::create_directories(dir);
  const WordsSplit split = choose_words(o);
  // Every line carries "accepted" (training lines too: evaluating on the training words reads them from there).
  auto write_split = [&](const std::vector<WordNetAdjective>& words, const std::string& suffix) {
    std::vector<json> sft, pref;
    for (const WordNetAdjective& a : words) {
      json s = {{"prompt", opposite_prompt(a.word)}, {"completion", " " + a.antonyms[0]}};
      json p = {{"prompt", synonym_prompt(a.word)}, {"chosen", " " + a.synonyms[0]}, {"rejected", " " + a.antonyms[0]}};
      s["accepted"] = a.antonyms;
      p["accepted"] = a.synonyms;
      sft.push_back(s);
      pref.push_back(p);
    }
    write_file_atomic(dir + "/sft" + suffix + ".jsonl", lines(sft));
    write_file_atomic(dir + "/preference" + suffix + ".jsonl", lines(pref));
  };
  write_split(split.train, "");
  write_split(split.held_out, "_eval");

  std::vector<json> pretrain;
  for (const std::string& t : words_pretraining_texts(split, o)) pretrain.push_back({{"text", t}});
  write_file_atomic(dir + "/pretrain.jsonl", lines(pretrain));

  // Capability retention: what only pretraining taught, a word's definition. lm-eval's cloze over the data's own
  // context: after "hot:" (the pretraining corpus's gloss lines), which of four definitions follows; distractors are
  // the definitions of other chosen words that are not the word's synonyms (choices differ in length: acc_norm).
  Rng rng(o.seed + 2);
  std::vector<WordNetAdjective> all = split.train;
  all.insert(all.end(), split.held_out.begin(), split.held_out.end());
  std::vector<json> mc;
  for (const WordNetAdjective& a : all) {
    const std::string definition = definition_of(a.glosses[0]);
    if (definition.empty()) continue;
    std::set<std::string> taken = {a.word}, shown = {definition};
    taken.insert(a.synonyms.begin(), a.synonyms.end());
    std::vector<std::string> choices = {definition};
    while (choices.size() < 4) {
      const WordNetAdjective& d = all[rng.below(all.size())];
      const std::string other = definition_of(d.glosses[0]);
      if (other.empty() || taken.count(d.word) || !shown.insert(other).second) continue;
      taken.insert(d.word);
      choices.push_back(other);
    }
    shuffle(choices, rng);
    const auto answer = std::find(choices.begin(), choices.end(), definition) - choices.begin();
    mc.push_back({{"context", a.word + ":"}, {"choices", choices}, {"answer", answer}});
  }
  write_file_atomic(dir + "/multiple_choice.jsonl", lines(mc));

  json words = {{"train", json::array()}, {"held_out", json::array()}};
  for (const auto& a : split.train) words["train"].push_back(a.word);
  for (const auto& a : split.held_out) words["held_out"].push_back(a.word);
  write_file_atomic(dir + "/words.json", words.dump(1) + "\n");
}

void write_words_configs(const std::string& dir, const std::string& tokenizer_dir, int64_t vocab_size,
                         const WordsTestbedOptions& o) {
  json config = toy_model_config("llama", vocab_size, o.hidden_size, o.layers);
  config["max_position_embeddings"] = 64;  // pretraining truncates the longest glosses at 64 tokens
  write_file_atomic(dir + "/config.json", config.dump(2) + "\n");
  const std::string abs = std::filesystem::absolute(dir).string();
  const std::string tok = std::filesystem::absolute(tokenizer_dir).string();
  TANDEM_CHECK(o.eval_words == "training" || o.eval_words == "held_out",
               "words testbed: eval words must be training or held_out, got ", o.eval_words);
  // Training words: no eval sets, so the trainer evaluates the first eval_max_examples training lines (all of them)
  // and the run's summary says "training_subset"; held-out words: the eval sets (summary: "held_out").
  const size_t train_words = choose_words(o).train.size();
  std::ostringstream eval;
  if (o.eval_words == "training")
    eval << "eval_max_examples = " << train_words << "  # every training word (no eval sets: a training subset)\n";
  else
    eval << "sft_eval_dataset = \"" << abs << "/sft_eval.jsonl\"\n"
         << "preference_eval_dataset = \"" << abs << "/preference_eval.jsonl\"\n";
  std::ostringstream pretrain, train;
  pretrain << "# Pretraining of the words testbed's base model: glosses, relations, questions answered at random.\n"
           << "model_config = \"" << abs << "/config.json\"\n"
           << "tokenizer_name_or_path = \"" << tok << "\"\n"
           << "sft_dataset = \"" << abs << "/pretrain.jsonl\"\n"
           << "output_dir = \"" << abs << "/pretrain\"\n"
           << "strategy = \"sft\"\n"
           << "max_steps = " << o.pretrain_steps << "\n"
           << "per_device_train_batch_size = 16\n"
           << "max_length = 64\n"
           << "max_prompt_length = 8\n"
           << "learning_rate = 3e-3\n"
           << "warmup_steps = 30\n";
  write_file_atomic(dir + "/pretrain.toml", pretrain.str());
  train << "# The words testbed (WordNet antonyms vs synonyms) written by `tandem demo --testbed words`.\n"
        << "model_config = \"" << abs << "/config.json\"\n"
        << "tokenizer_name_or_path = \"" << tok << "\"\n"
        << "sft_dataset = \"" << abs << "/sft.jsonl\"\n"
        << "preference_dataset = \"" << abs << "/preference.jsonl\"\n"
        << eval.str()
        << "reference_cache_dir = \"" << abs << "/cache\"\n"
        << "output_dir = \"" << abs << "/run\"\n"
        << "strategy = \"alright\"\n"
        << "lambda = 0.5\n"
        << "max_steps = " << o.steps << "\n"
        << "per_device_train_batch_size = 16\n"
        << "max_length = 32\n"
        << "max_prompt_length = 24\n"
        << "learning_rate = 2e-3\n"
        << "warmup_steps = 10\n"
        << "beta = 0.1\n"
        << "# RPO (TRL's rpo_alpha): DPO plus the chosen answers' NLL. Plain DPO on this tiny base lowers the chosen\n"
        << "# answers' likelihood with the rejected ones', so its greedy answers are not words (measured; README)\n"
        << "rpo_alpha = 1.0\n"
        << "eval_steps = 20\n"
        << "# exact judges: a greedy answer is right when it is one of the line's \"accepted\" words\n"
        << "judge = \"answers\"\n"
        << "judge_max_new_tokens = 6  # a word and the end of text\n"
        << "# capability retention: which of four words a WordNet definition defines\n"
        << "multiple_choice_dataset = \"" << abs << "/multiple_choice.jsonl\"\n";
  write_file_atomic(dir + "/train.toml", train.str());
}

}  // namespace tandem
