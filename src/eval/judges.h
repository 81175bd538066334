// Judges of generated responses: a judge scores a response to an example's prompt (higher is better) and says in
// one line how. Exact judges (toy, answers) also say whether a response is right; the reward-model judge
// (eval/reward_model_judge.h) only scores. eval/win_rate.h uses them against the preference data's chosen answers.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/bpe_tokenizer.h"

namespace tandem {

// Token ids after a prompt, the stop token that ended them stripped; `stopped` says whether one did (a reply cut
// at the token limit did not).
struct Response {
  std::vector<int32_t> ids;
  bool stopped = false;
};

// `ids` as a Response: a trailing stop token is stripped and remembered.
Response as_response(std::vector<int32_t> ids, const std::vector<int32_t>& stop_tokens);

// What a judge sees of an example: its prompt, its reference answer (an SFT completion or a preference pair's
// chosen response) and the answers it accepts (empty: the reference's text).
struct JudgedExample {
  const std::vector<int32_t>& prompt;
  Response reference;
  const std::vector<std::string>& accepted;
};

class ResponseJudge {
 public:
  virtual ~ResponseJudge() = default;
  virtual std::string name() const = 0;     // as the config's `judge` names it
  virtual std::string scoring() const = 0;  // one line: how scores are computed
  virtual double score(const JudgedExample& e, const Response& r) = 0;
  virtual bool exact() const { return false; }
  // Exact judges: whether `r` is a right answer (SFT accuracy, preference satisfaction).
  virtual bool accepts(const JudgedExample& e, const Response& r);
};

// The toy reverse-vs-copy task (data/toy_task.h): answers are three symbols and <eos> (id 3), read as ids. Right:
// the reference's ids exactly, <eos> included. Score: positions matching the reference "x y z <eos>" (0..4).
class ToyJudge : public ResponseJudge {
 public:
  static constexpr int32_t kEos = 3;             // data/toy_task.cpp
  static constexpr int64_t kAnswerTokens = 4;    // three symbols and <eos>
  std::string name() const override { return "toy"; }
  std::string scoring() const override;
  double score(const JudgedExample& e, const Response& r) override;
  bool exact() const override { return true; }
  bool accepts(const JudgedExample& e, const Response& r) override;
};

// Exact match of text: the response decoded with the run's tokenizer, trimmed of surrounding whitespace, against the
// example's accepted answers (each trimmed too), or the reference's decoded text when it lists none. Score 1 or 0.
class AnswersJudge : public ResponseJudge {
 public:
  explicit AnswersJudge(const BpeTokenizer& tokenizer) : tokenizer_(tokenizer) {}
  std::string name() const override { return "answers"; }
  std::string scoring() const override;
  double score(const JudgedExample& e, const Response& r) override { return accepts(e, r) ? 1.0 : 0.0; }
  bool exact() const override { return true; }
  bool accepts(const JudgedExample& e, const Response& r) override;

 private:
  const BpeTokenizer& tokenizer_;
};

// The text of generated ids; an id beyond the tokenizer's vocabulary (a model's padded vocabulary can produce one)
// becomes U+FFFD, so it reads as wrong text rather than failing the run.
std::string decode_response(const BpeTokenizer& tokenizer, const std::vector<int32_t>& ids,
                            bool skip_special_tokens = false);

// Surrounding spaces, tabs, carriage returns and newlines removed.
std::string trim_whitespace(const std::string& s);

}  // namespace tandem
