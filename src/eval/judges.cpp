#include "eval/judges.h"

#include <algorithm>

#include "core/check.h"

namespace tandem {

Response as_response(std::vector<int32_t> ids, const std::vector<int32_t>& stop_tokens) {
  Response r;
  r.stopped = !ids.empty() && std::find(stop_tokens.begin(), stop_tokens.end(), ids.back()) != stop_tokens.end();
  if (r.stopped) ids.pop_back();
  r.ids = std::move(ids);
  return r;
}

bool ResponseJudge::accepts(const JudgedExample&, const Response&) {
  fail("judge '", name(), "' scores responses but does not say whether one is right (not an exact judge)");
}

namespace {
// The toy task's answers are compared with their <eos>, as generated (a cut-off answer has none).
std::vector<int32_t> with_eos(const Response& r) {
  std::vector<int32_t> ids = r.ids;
  if (r.stopped) ids.push_back(ToyJudge::kEos);
  return ids;
}
}  // namespace

std::string ToyJudge::scoring() const {
  return "toy task: positions matching the reference answer's 3 symbols and <eos> (0..4); right = all 4";
}

double ToyJudge::score(const JudgedExample& e, const Response& r) {
  const std::vector<int32_t> mine = with_eos(r), reference = with_eos(e.reference);
  int matches = 0;
  for (size_t i = 0; i < reference.size() && i < mine.size(); ++i) matches += mine[i] == reference[i];
  return matches;
}

bool ToyJudge::accepts(const JudgedExample& e, const Response& r) { return with_eos(r) == with_eos(e.reference); }

std::string decode_response(const BpeTokenizer& tokenizer, const std::vector<int32_t>& ids, bool skip_special_tokens) {
  std::string out;
  std::vector<int32_t> run;
  for (int32_t id : ids) {
    if (id >= 0 && id < tokenizer.vocab_size()) {
      run.push_back(id);
      continue;
    }
    out += tokenizer.decode(run, skip_special_tokens) + "\xEF\xBF\xBD";
    run.clear();
  }
  return out + tokenizer.decode(run, skip_special_tokens);
}

std::string trim_whitespace(const std::string& s) {
  const char* space = " \t\r\n\f\v";
  const size_t first = s.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

std::string AnswersJudge::scoring() const {
  return "exact match: the decoded response, whitespace-trimmed, equals an accepted answer (else the reference's "
         "text); 1 or 0";
}

bool AnswersJudge::accepts(const JudgedExample& e, const Response& r) {
  const std::string text = trim_whitespace(decode_response(tokenizer_, r.ids));
  if (e.accepted.empty()) return text == trim_whitespace(decode_response(tokenizer_, e.reference.ids));
  return std::any_of(e.accepted.begin(), e.accepted.end(),
                     [&](const std::string& a) { return trim_whitespace(a) == text; });
}

}  // namespace tandem
