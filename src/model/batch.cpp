#include "model/batch.h"

#include "core/check.h"

namespace tandem {

void Batch::validate(int64_t vocab_size) const {
  TANDEM_CHECK(batch > 0 && seq > 0, "batch: empty batch (", batch, " x ", seq, ")");
  TANDEM_CHECK(int64_t(tokens.size()) == batch * seq, "batch: tokens has ", tokens.size(), " entries, expected ",
               batch * seq);
  TANDEM_CHECK(int64_t(lengths.size()) == batch, "batch: lengths has ", lengths.size(), " entries, expected ", batch);
  TANDEM_CHECK(int64_t(loss_mask.size()) == batch * seq, "batch: loss_mask has ", loss_mask.size(),
               " entries, expected ", batch * seq);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lengths[b];
    TANDEM_CHECK(len >= 1 && len <= seq, "batch: sequence ", b, " has length ", len, ", outside 1..", seq);
    TANDEM_CHECK(!loss_mask[b * seq], "batch: sequence ", b, ": the first token cannot be scored (nothing predicts it)");
    for (int64_t t = 0; t < seq; ++t) {
      const int32_t id = tokens[b * seq + t];
      TANDEM_CHECK(id >= 0 && id < vocab_size, "batch: sequence ", b, " position ", t, ": token id ", id,
                   " outside the vocabulary [0, ", vocab_size, ")");
      TANDEM_CHECK(t < len || !loss_mask[b * seq + t], "batch: sequence ", b, " position ", t,
                   " is padding (length ", len, ") but is marked for loss");
    }
  }
  for (const auto* v : {&positions, &segment_start, &prefix_end})
    TANDEM_CHECK(v->empty() || int64_t(v->size()) == batch * seq, "batch: positions/segment_start/prefix_end need ",
                 batch * seq, " entries, got ", v->size());
  for (int64_t i = 0; i < int64_t(positions.size()); ++i)
    TANDEM_CHECK(positions[i] >= 0 && positions[i] <= i % seq, "batch: row ", i / seq, " position ", i % seq,
                 ": RoPE position ", positions[i], " outside 0..", i % seq);
  for (int64_t i = 0; i < int64_t(segment_start.size()); ++i)
    TANDEM_CHECK(segment_start[i] >= 0 && segment_start[i] <= i % seq, "batch: row ", i / seq, " position ", i % seq,
                 ": segment_start ", segment_start[i], " is after the token");
  for (const Scored& s : scored) {
    TANDEM_CHECK(s.row_pos >= 0 && s.row_pos < batch * seq && s.row_pos % seq < lengths[s.row_pos / seq],
                 "batch: scored token at ", s.row_pos, " is outside the rows' real tokens");
    TANDEM_CHECK(s.token >= 0 && s.token < vocab_size, "batch: scored token id ", s.token, " outside the vocabulary");
    TANDEM_CHECK(s.sequence >= 0 && s.sequence < sequences, "batch: scored token of sequence ", s.sequence,
                 " but the batch has ", sequences, " sequences");
  }
}

int64_t Batch::scored_tokens() const {
  if (!scored.empty()) return int64_t(scored.size());
  int64_t n = 0;
  for (uint8_t m : loss_mask) n += m;
  return n;
}

}  // namespace tandem
