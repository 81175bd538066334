#include "eval/win_rate.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/check.h"
#include "model/generate.h"

namespace tandem {

namespace {
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

std::pair<double, double> wilson_interval(double p, int64_t n, double z) {
  const double nn = double(n), z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  // At p = 0 (1) the bound is 0 (1) exactly; the formula leaves rounding noise there.
  return {p <= 0 ? 0.0 : std::max(0.0, centre - half), p >= 1 ? 1.0 : std::min(1.0, centre + half)};
}

WinRate win_rate_of(const std::vector<double>& outcomes) {
  TANDEM_CHECK(!outcomes.empty(), "win rate: no outcomes (no preference examples to judge)");
  WinRate w;
  w.n = int64_t(outcomes.size());
  double sum = 0;
  for (double o : outcomes) {
    TANDEM_CHECK(o == 0 || o == 0.5 || o == 1, "win rate: outcome ", o, " is not 1 (win), 0.5 (tie) or 0 (loss)");
    w.wins += o == 1;
    w.ties += o == 0.5;
    w.losses += o == 0;
    sum += o;
  }
  w.rate = sum / double(w.n);
  double squares = 0;
  for (double o : outcomes) squares += (o - w.rate) * (o - w.rate);
  w.stderr_of_rate = w.n < 2 ? NAN : std::sqrt(squares / double(w.n - 1)) / std::sqrt(double(w.n));
  std::tie(w.ci_low, w.ci_high) = wilson_interval(w.rate, w.n);
  return w;
}

nlohmann::json win_rate_json(const WinRate& w, const ResponseJudge& judge) {
  return {{"judge", judge.name()},  {"scoring", judge.scoring()}, {"against", "chosen"},
          {"n", w.n},               {"wins", w.wins},              {"ties", w.ties},
          {"losses", w.losses},     {"rate", num(w.rate)},         {"stderr", num(w.stderr_of_rate)},
          {"ci95", {num(w.ci_low), num(w.ci_high)}}};
}

Response respond(const DecoderModel& policy, const std::vector<int32_t>& prompt, const JudgeGeneration& g) {
  const int64_t room = policy.config().max_position_embeddings - int64_t(prompt.size());
  TANDEM_CHECK(room > 0, "judging: a prompt of ", prompt.size(), " tokens leaves no room to answer within the model's ",
               "max_position_embeddings ", policy.config().max_position_embeddings);
  GenerationConfig c;
  c.max_new_tokens = std::min(g.max_new_tokens, room);
  c.stop_tokens = g.stop_tokens;
  Rng unused(0);  // greedy
  return as_response(generate(policy, prompt, c, unused), g.stop_tokens);
}

WinRate win_rate_against_chosen(const std::vector<PreferenceExample>& examples, const std::vector<Response>& responses,
                                ResponseJudge& judge, const std::vector<int32_t>& stop_tokens) {
  TANDEM_CHECK(responses.size() <= examples.size(), "win rate: ", responses.size(), " responses for ",
               examples.size(), " examples");
  std::vector<double> outcomes;
  for (size_t i = 0; i < responses.size(); ++i) {
    const PreferenceExample& e = examples[i];
    const JudgedExample judged{e.prompt, as_response(e.chosen, stop_tokens), e.accepted};
    const double mine = judge.score(judged, responses[i]), theirs = judge.score(judged, judged.reference);
    outcomes.push_back(mine > theirs ? 1.0 : mine == theirs ? 0.5 : 0.0);
  }
  return win_rate_of(outcomes);
}

}  // namespace tandem
