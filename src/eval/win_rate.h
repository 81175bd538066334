// Generation-based pairwise win rate against the preference data's chosen responses: the policy answers each prompt
// greedily (KV-cached, model/generate.h), a judge (eval/judges.h) scores its answer and the chosen one, and the
// answer wins, ties or loses. rate = (wins + ties / 2) / n. Uncertainty: the standard error is the sample standard
// deviation of the per-example outcomes (1, 1/2, 0) over sqrt(n); the 95% interval is Wilson's score interval on the
// rate with n trials (a tie counts half a win: an outcome in [0, 1] with mean p has at most a coin's variance
// p(1 - p), so the interval is conservative when there are ties).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/examples.h"
#include "eval/judges.h"
#include "model/decoder_model.h"

namespace tandem {

struct WinRate {
  int64_t n = 0, wins = 0, ties = 0, losses = 0;
  double rate = 0, stderr_of_rate = 0;  // stderr NaN when n < 2
  double ci_low = 0, ci_high = 1;       // Wilson, 95%
};

// From per-example outcomes, each 1 (win), 0.5 (tie) or 0 (loss); at least one.
WinRate win_rate_of(const std::vector<double>& outcomes);
// Wilson's score interval for a proportion p of n trials at normal quantile z.
std::pair<double, double> wilson_interval(double p, int64_t n, double z = 1.959963984540054);

// The summary.json "win_rate" field: judge, scoring, against, n, wins, ties, losses, rate, stderr, ci95.
nlohmann::json win_rate_json(const WinRate& w, const ResponseJudge& judge);

// How the policy answers when judged: greedy, up to max_new_tokens (fewer when the model's positions run out),
// ending at a stop token.
struct JudgeGeneration {
  int64_t max_new_tokens = 64;
  std::vector<int32_t> stop_tokens;
};
Response respond(const DecoderModel& policy, const std::vector<int32_t>& prompt, const JudgeGeneration& g);

// Win rate of `responses[i]` (the policy's answer to examples[i]) against examples[i].chosen, over the first
// responses.size() examples.
WinRate win_rate_against_chosen(const std::vector<PreferenceExample>& examples, const std::vector<Response>& responses,
                                ResponseJudge& judge, const std::vector<int32_t>& stop_tokens);

}  // namespace tandem
