#include "data/collate.h"

#include <algorithm>

#include "core/check.h"

namespace tandem {

void Truncation::validate() const {
  TANDEM_CHECK(max_length >= 2, "max_length must be >= 2, got ", max_length);
  TANDEM_CHECK(max_prompt_length >= 1 && max_prompt_length < max_length,
               "max_prompt_length must be in [1, max_length), got ", max_prompt_length);
}

namespace {

struct Row {
  std::vector<int32_t> tokens;
  int64_t prompt_len;
};

Row make_row(const std::vector<int32_t>& prompt, const std::vector<int32_t>& response, const Truncation& t) {
  const int64_t p = std::min<int64_t>(int64_t(prompt.size()), t.max_prompt_length);
  const int64_t r = std::min<int64_t>(int64_t(response.size()), t.max_length - p);
  Row row;
  if (t.keep_prompt_start)
    row.tokens.assign(prompt.begin(), prompt.begin() + p);
  else
    row.tokens.assign(prompt.end() - p, prompt.end());
  row.tokens.insert(row.tokens.end(), response.begin(), response.begin() + r);
  row.prompt_len = p;
  return row;
}

Batch pad(const std::vector<Row>& rows) {
  int64_t T = 0;
  for (const auto& r : rows) T = std::max<int64_t>(T, int64_t(r.tokens.size()));
  Batch b(int64_t(rows.size()), T);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    std::copy(r.tokens.begin(), r.tokens.end(), b.tokens.begin() + i * T);
    b.lengths[i] = int32_t(r.tokens.size());
    // Token t is scored when it is a response token; position 0 never is (nothing predicts it).
    for (int64_t t = std::max<int64_t>(1, r.prompt_len); t < int64_t(r.tokens.size()); ++t) b.loss_mask[i * T + t] = 1;
  }
  return b;
}

}  // namespace

Batch collate_sft(const std::vector<const SftExample*>& examples, const Truncation& trunc) {
  std::vector<Row> rows;
  for (const auto* e : examples) rows.push_back(make_row(e->prompt, e->completion, trunc));
  return pad(rows);
}

Batch collate_preference(const std::vector<const PreferenceExample*>& examples, const Truncation& trunc) {
  std::vector<Row> rows;
  for (const auto* e : examples) rows.push_back(make_row(e->prompt, e->chosen, trunc));
  for (const auto* e : examples) rows.push_back(make_row(e->prompt, e->rejected, trunc));
  return pad(rows);
}

}  // namespace tandem
