#include "eval/multiple_choice.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"

namespace tandem {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One (item, choice) row as the model reads it: lm-eval's
// "inp = (context_enc + continuation_enc)[-(self.max_length + 1):][:-1]", and the continuation's tokens, predicted
// by the last len(continuation) positions of inp.
struct Row {
  std::vector<int32_t> input, targets;
};

Row make_row(const MultipleChoiceItem& item, size_t choice, int64_t max_length) {
  const std::vector<int32_t>& cont = item.choices[choice];
  TANDEM_CHECK(int64_t(cont.size()) <= max_length, item.where, ": choice ", choice, " has ", cont.size(),
               " tokens, more than the model's max_position_embeddings (", max_length, ")");
  std::vector<int32_t> whole = item.context;
  whole.insert(whole.end(), cont.begin(), cont.end());
  const int64_t keep = std::min<int64_t>(int64_t(whole.size()), max_length + 1);  // left truncation
  Row r;
  r.input.assign(whole.end() - keep, whole.end() - 1);
  r.targets = cont;
  return r;
}

// Per-row summed log-probs of rows[begin, end) in one forward.
void score_rows(DecoderModel& model, const std::vector<Row>& rows, size_t begin, size_t end,
                std::vector<double>& out) {
  size_t longest = 0;
  for (size_t r = begin; r < end; ++r) longest = std::max(longest, rows[r].input.size());
  Batch b(int64_t(end - begin), int64_t(longest));
  b.sequences = b.batch;
  for (size_t r = begin; r < end; ++r) {
    const int64_t row = int64_t(r - begin), len = int64_t(rows[r].input.size());
    std::copy(rows[r].input.begin(), rows[r].input.end(), b.tokens.begin() + row * b.seq);
    b.lengths[row] = int32_t(len);
    const int64_t first = len - int64_t(rows[r].targets.size());  // the position predicting the first target
    for (size_t t = 0; t < rows[r].targets.size(); ++t)
      b.scored.push_back({int32_t(row * b.seq + first + int64_t(t)), rows[r].targets[t], int32_t(row)});
  }
  const SequenceLogprobs lp = model.forward(b);
  for (size_t r = begin; r < end; ++r) out[r] = lp.logp[r - begin];
}

// First index of the maximum, as np.argmax.
int64_t argmax(const std::vector<double>& v) { return int64_t(std::max_element(v.begin(), v.end()) - v.begin()); }

// lm-eval's mean_stderr: sample_stddev(arr) / sqrt(len(arr)), sample_stddev dividing by n - 1.
double mean_stderr(const std::vector<double>& x) {
  if (x.size() < 2) return kNaN;
  double mean = 0, ss = 0;
  for (double v : x) mean += v / double(x.size());
  for (double v : x) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / double(x.size() - 1)) / std::sqrt(double(x.size()));
}

double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return x.empty() ? kNaN : s / double(x.size());
}

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

MultipleChoiceResult score_multiple_choice(DecoderModel& model, const std::vector<MultipleChoiceItem>& items,
                                           int64_t batch_rows) {
  TANDEM_CHECK(batch_rows > 0, "multiple choice: batch_rows must be positive, got ", batch_rows);
  const int64_t max_length = model.config().max_position_embeddings;
  std::vector<Row> rows;
  for (const MultipleChoiceItem& item : items)
    for (size_t k = 0; k < item.choices.size(); ++k) rows.push_back(make_row(item, k, max_length));
  // Rows sorted by length share batches with rows of about their length (less padding); results go back in order.
  std::vector<size_t> order(rows.size());
  for (size_t r = 0; r < order.size(); ++r) order[r] = r;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rows[a].input.size() > rows[b].input.size(); });
  std::vector<Row> sorted;
  for (size_t r : order) sorted.push_back(std::move(rows[r]));
  std::vector<double> sorted_ll(sorted.size()), ll(sorted.size());
  model.set_training(false);
  for (size_t begin = 0; begin < sorted.size(); begin += size_t(batch_rows))
    score_rows(model, sorted, begin, std::min(sorted.size(), begin + size_t(batch_rows)), sorted_ll);
  for (size_t r = 0; r < order.size(); ++r) ll[order[r]] = sorted_ll[r];

  MultipleChoiceResult res;
  res.n = int64_t(items.size());
  std::vector<double> hits, hits_norm;
  bool all_texts = true;
  size_t next = 0;
  for (const MultipleChoiceItem& item : items) {
    std::vector<double> lls(ll.begin() + int64_t(next), ll.begin() + int64_t(next + item.choices.size()));
    next += item.choices.size();
    res.pred.push_back(argmax(lls));
    hits.push_back(res.pred.back() == item.answer ? 1.0 : 0.0);
    if (item.choice_texts.empty()) {
      all_texts = false;
      res.pred_norm.push_back(-1);
    } else {
      std::vector<double> per_byte(lls.size());
      for (size_t k = 0; k < lls.size(); ++k) per_byte[k] = lls[k] / double(item.choice_texts[k].size());
      res.pred_norm.push_back(argmax(per_byte));
      hits_norm.push_back(res.pred_norm.back() == item.answer ? 1.0 : 0.0);
    }
    res.loglikelihoods.push_back(std::move(lls));
  }
  res.acc = mean_of(hits);
  res.acc_stderr = mean_stderr(hits);
  res.acc_norm = all_texts ? mean_of(hits_norm) : kNaN;
  res.acc_norm_stderr = all_texts ? mean_stderr(hits_norm) : kNaN;
  return res;
}

nlohmann::json MultipleChoiceResult::summary_json(const std::string& dataset) const {
  return {{"dataset", dataset},           {"n", n},
          {"acc", num(acc)},              {"acc_stderr", num(acc_stderr)},
          {"acc_norm", num(acc_norm)},    {"acc_norm_stderr", num(acc_norm_stderr)}};
}

nlohmann::json MultipleChoiceResult::full_json(const std::string& dataset,
                                               const std::vector<MultipleChoiceItem>& items) const {
  nlohmann::json j = summary_json(dataset);
  j["items"] = nlohmann::json::array();
  for (size_t i = 0; i < items.size(); ++i)
    j["items"].push_back({{"where", items[i].where},
                          {"answer", items[i].answer},
                          {"loglikelihoods", loglikelihoods[i]},
                          {"pred", pred[i]},
                          {"pred_norm", pred_norm[i] < 0 ? nlohmann::json(nullptr) : nlohmann::json(pred_norm[i])}});
  return j;
}

}  // namespace tandem
