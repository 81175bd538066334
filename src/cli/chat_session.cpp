// See chat_session.h. The cache grows by doubling (up to max_position_embeddings, and the sliding window where
// there is one) so a long chat reallocates it a logarithmic number of times; KvDecoder cannot drop its last rows,
// so a prompt that agrees with the cache on only part of it is fed again from position 0.
#include "cli/chat_session.h"

#include <algorithm>

#include "core/check.h"

namespace tandem {

ChatSession::ChatSession(const LlamaModel& model, std::vector<int32_t> stop_tokens)
    : model_(model), stop_tokens_(std::move(stop_tokens)) {}

std::vector<int32_t> ChatSession::unseen_part(const std::vector<int32_t>& prompt, int64_t max_new_tokens) {
  const ModelConfig& c = model_.config();
  const bool windowed = c.sliding_window > 0 && c.sliding_window < c.max_position_embeddings;
  const int64_t limit = windowed ? c.sliding_window : c.max_position_embeddings;
  const int64_t needed = int64_t(prompt.size()) + max_new_tokens;
  TANDEM_CHECK(needed <= limit, "the prompt (", prompt.size(), " tokens) plus --max-new-tokens ", max_new_tokens,
               " exceeds the model's ", windowed ? "sliding_window " : "max_position_embeddings ", limit,
               " (in chat: /reset starts a new conversation)");
  // At least one new token, so the last prompt position's logits come out of this feed.
  const bool extends = decoder_ && prompt.size() > fed_.size() && std::equal(fed_.begin(), fed_.end(), prompt.begin());
  if (extends && needed <= capacity_)
    return std::vector<int32_t>(prompt.begin() + std::ptrdiff_t(fed_.size()), prompt.end());
  if (decoder_) ++rebuilds_;
  if (needed > capacity_) {
    capacity_ = std::min(limit, std::max({needed, 2 * capacity_, int64_t(256)}));
    decoder_ = std::make_unique<KvDecoder>(model_, capacity_);
  }
  decoder_->reset();
  fed_.clear();
  return prompt;
}

std::vector<int32_t> ChatSession::reply(const std::vector<int32_t>& prompt, const GenerationConfig& cfg, Rng& rng) {
  TANDEM_CHECK(!prompt.empty(), "chat: empty prompt");
  const std::vector<int32_t> unseen = unseen_part(prompt, cfg.max_new_tokens);
  prefilled_ += int64_t(unseen.size());
  std::vector<float> logits = decoder_->feed(unseen);
  fed_.insert(fed_.end(), unseen.begin(), unseen.end());
  GenerationConfig c = cfg;
  c.stop_tokens = stop_tokens_;
  const int64_t V = model_.config().vocab_size;
  const float* last = logits.data() + (int64_t(unseen.size()) - 1) * V;
  // The decoding loop of generate(): the last token (a stop token or the max_new_tokens-th) is not fed.
  std::vector<int32_t> out;
  for (int64_t i = 0; i < c.max_new_tokens; ++i) {
    const int32_t t = sample_token(last, V, c, rng);
    out.push_back(t);
    if (std::find(c.stop_tokens.begin(), c.stop_tokens.end(), t) != c.stop_tokens.end()) break;
    if (i + 1 == c.max_new_tokens) break;
    logits = decoder_->feed({t});
    fed_.push_back(t);
    last = logits.data();
  }
  return out;
}

}  // namespace tandem
