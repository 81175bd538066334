#include "eval/judges.h"

#include "model/generate.h"

namespace tandem {

namespace {
constexpr int32_t kEos = 3;  // data/toy_task.cpp

std::vector<int32_t> answer(const DecoderModel& model, const std::vector<int32_t>& prompt) {
  GenerationConfig g;
  g.max_new_tokens = 4;  // three symbols and <eos>
  g.stop_tokens = {kEos};
  Rng unused(0);
  return generate(model, prompt, g, unused);
}

// The copy judge's score: positions that match the copy answer "a b c <eos>" (0..4).
int copy_score(const std::vector<int32_t>& response, const std::vector<int32_t>& copy) {
  int score = 0;
  for (size_t i = 0; i < copy.size() && i < response.size(); ++i) score += response[i] == copy[i];
  return score;
}
}  // namespace

nlohmann::json JudgeScores::to_json() const {
  return {{"sft_accuracy", sft_accuracy}, {"preference_satisfaction", preference_satisfaction}, {"win_rate", win_rate}};
}

JudgeScores judge_toy_task(const DecoderModel& model, const std::vector<SftExample>& sft,
                           const std::vector<PreferenceExample>& preference) {
  JudgeScores s;
  for (const auto& e : sft) s.sft_accuracy += answer(model, e.prompt) == e.completion;
  for (const auto& e : preference) {
    const std::vector<int32_t> r = answer(model, e.prompt);
    s.preference_satisfaction += r == e.chosen;
    const int mine = copy_score(r, e.chosen), theirs = copy_score(e.rejected, e.chosen);
    s.win_rate += mine > theirs ? 1.0 : mine == theirs ? 0.5 : 0.0;
  }
  s.sft_accuracy /= double(std::max<size_t>(sft.size(), 1));
  s.preference_satisfaction /= double(std::max<size_t>(preference.size(), 1));
  s.win_rate /= double(std::max<size_t>(preference.size(), 1));
  return s;
}

}  // namespace tandem
