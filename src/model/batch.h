// A padded batch of token sequences: what the model consumes.
#pragma once
#include <cstdint>
#include <vector>

namespace tandem {

struct Batch {
  int64_t batch = 0, seq = 0;       // B sequences, each padded (on the right) to T tokens
  std::vector<int32_t> tokens;      // [B*T]
  std::vector<int32_t> lengths;     // [B], real tokens in each sequence (1..T)
  std::vector<uint8_t> loss_mask;   // [B*T], 1 where token t is scored as the prediction from position t-1

  Batch() = default;
  Batch(int64_t b, int64_t t) : batch(b), seq(t), tokens(b * t, 0), lengths(b, int32_t(t)), loss_mask(b * t, 0) {}

  // Throws an error naming the sequence and position of the first inconsistency.
  void validate(int64_t vocab_size) const;
  int64_t scored_tokens() const;
};

// Per-sequence results of a forward pass.
struct SequenceLogprobs {
  std::vector<double> logp;       // [B] sum of log p over the sequence's scored tokens
  std::vector<int64_t> tokens;    // [B] number of scored tokens
  std::vector<float> token_logp;  // [B*T] log p of token t+1 stored at row t (0 where not scored)
};

}  // namespace tandem
