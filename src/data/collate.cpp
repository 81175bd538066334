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

namespace {
// Rows of the given token lists, padded to the longest, with the packing/sharing structure filled as for plain
// rows (each token at its own index, attending from 0); callers then adjust it.
Batch pad_structured(const std::vector<std::vector<int32_t>>& rows) {
  std::vector<Row> plain;
  for (const auto& r : rows) plain.push_back({r, 0});
  Batch b = pad(plain);
  std::fill(b.loss_mask.begin(), b.loss_mask.end(), 0);
  b.positions.resize(b.batch * b.seq);
  for (int64_t i = 0; i < b.batch * b.seq; ++i) b.positions[i] = int32_t(i % b.seq);
  b.segment_start.assign(b.batch * b.seq, 0);
  b.prefix_end.assign(b.batch * b.seq, 0);
  return b;
}
}  // namespace

Batch collate_preference_shared(const std::vector<const PreferenceExample*>& examples, const Truncation& trunc) {
  const int64_t n = int64_t(examples.size());
  std::vector<std::vector<int32_t>> rows;
  std::vector<int64_t> prompt_len, chosen_len;
  for (const auto* e : examples) {
    const Row c = make_row(e->prompt, e->chosen, trunc), r = make_row(e->prompt, e->rejected, trunc);
    std::vector<int32_t> row = c.tokens;
    row.insert(row.end(), r.tokens.begin() + r.prompt_len, r.tokens.end());
    rows.push_back(std::move(row));
    prompt_len.push_back(c.prompt_len);
    chosen_len.push_back(int64_t(c.tokens.size()) - c.prompt_len);
  }
  Batch b = pad_structured(rows);
  b.sequences = 2 * n;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t P = prompt_len[i], S = P + chosen_len[i], L = b.lengths[i], base = i * b.seq;
    for (int64_t t = S; t < L; ++t) {  // the rejected branch
      b.positions[base + t] = int32_t(t - chosen_len[i]);
      b.segment_start[base + t] = int32_t(S);
      b.prefix_end[base + t] = int32_t(P);
    }
    for (int64_t t = std::max<int64_t>(P, 1); t < S; ++t)
      b.scored.push_back({int32_t(base + t - 1), b.tokens[base + t], int32_t(i)});
    for (int64_t t = S; t < L; ++t) {
      const int64_t from = t == S ? P - 1 : t - 1;  // the first rejected token is predicted by the prompt's end
      if (from >= 0) b.scored.push_back({int32_t(base + from), b.tokens[base + t], int32_t(n + i)});
    }
  }
  return b;
}

Batch collate_sft_packed(const std::vector<const SftExample*>& examples, const Truncation& trunc) {
  struct Placed {
    int64_t row, start, prompt_len;
  };
  std::vector<std::vector<int32_t>> rows;
  std::vector<Placed> placed;
  for (const auto* e : examples) {
    const Row r = make_row(e->prompt, e->completion, trunc);
    if (rows.empty() || int64_t(rows.back().size() + r.tokens.size()) > trunc.max_length) rows.emplace_back();
    placed.push_back({int64_t(rows.size()) - 1, int64_t(rows.back().size()), r.prompt_len});
    rows.back().insert(rows.back().end(), r.tokens.begin(), r.tokens.end());
  }
  Batch b = pad_structured(rows);
  b.sequences = int64_t(examples.size());
  for (size_t k = 0; k < placed.size(); ++k) {
    const Placed& p = placed[k];
    const int64_t base = p.row * b.seq;
    const int64_t end = k + 1 < placed.size() && placed[k + 1].row == p.row ? placed[k + 1].start : b.lengths[p.row];
    for (int64_t t = p.start; t < end; ++t) {
      b.positions[base + t] = int32_t(t - p.start);
      b.segment_start[base + t] = int32_t(p.start);
    }
    for (int64_t t = p.start + std::max<int64_t>(p.prompt_len, 1); t < end; ++t)
      b.scored.push_back({int32_t(base + t - 1), b.tokens[base + t], int32_t(k)});
  }
  return b;
}

Batch collate_preference(const std::vector<const PreferenceExample*>& examples, const Truncation& trunc) {
  std::vector<Row> rows;
  for (const auto* e : examples) rows.push_back(make_row(e->prompt, e->chosen, trunc));
  for (const auto* e : examples) rows.push_back(make_row(e->prompt, e->rejected, trunc));
  return pad(rows);
}

}  // namespace tandem
