// A padded batch of token sequences: what the model consumes.
#pragma once
#include <cstdint>
#include <vector>

namespace tandem {

struct Batch {
  int64_t batch = 0, seq = 0;       // B rows, each padded (on the right) to T tokens
  std::vector<int32_t> tokens;      // [B*T]
  std::vector<int32_t> lengths;     // [B], real tokens in each row (1..T)
  std::vector<uint8_t> loss_mask;   // [B*T], 1 where token t is scored as the prediction from position t-1

  // Optional structure for packed rows (several examples per row) and shared prompts (chosen and rejected after
  // one copy of their prompt); data/collate.cpp builds it. Empty vectors mean one plain causal sequence per row.
  std::vector<int32_t> positions;      // [B*T] RoPE position of each token
  std::vector<int32_t> segment_start;  // [B*T] a token attends to keys [segment_start, itself] ...
  std::vector<int32_t> prefix_end;     // [B*T] ... and to keys [0, prefix_end) (its shared prompt)
  struct Scored {
    int32_t row_pos;   // b * T + t of the predicting position
    int32_t token;     // the predicted token
    int32_t sequence;  // which logical sequence's log-prob it adds to
  };
  std::vector<Scored> scored;  // explicit scoring (then loss_mask is unused); empty: from loss_mask, per row
  int64_t sequences = 0;       // logical sequences when `scored` is used

  Batch() = default;
  Batch(int64_t b, int64_t t) : batch(b), seq(t), tokens(b * t, 0), lengths(b, int32_t(t)), loss_mask(b * t, 0) {}

  // Throws an error naming the sequence and position of the first inconsistency.
  void validate(int64_t vocab_size) const;
  int64_t scored_tokens() const;
  int64_t num_sequences() const { return scored.empty() ? batch : sequences; }
};

// Per-sequence results of a forward pass (a sequence is a row, or a logical sequence of an explicit scoring).
struct SequenceLogprobs {
  std::vector<double> logp;       // [sequences] sum of log p over the sequence's scored tokens
  std::vector<int64_t> tokens;    // [sequences] number of scored tokens
  std::vector<float> token_logp;  // without explicit scoring: [B*T], log p of token t+1 at row t (0 where not
                                  // scored); with it: one value per entry of Batch::scored
};

}  // namespace tandem
