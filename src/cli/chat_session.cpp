// See chat_session.h. The cache grows by doubling (up to max_position_embeddings) so a long chat reallocates it a
// logarithmic number of times; a prompt that agrees with the cache on only a prefix rewinds it to that prefix.
#include "cli/chat_session.h"

#include <algorithm>

#include "core/check.h"

namespace tandem {

ChatSession::ChatSession(const DecoderModel& model, std::vector<int32_t> stop_tokens)
    : model_(model), stop_tokens_(std::move(stop_tokens)) {}

std::vector<int32_t> ChatSession::unseen_part(const std::vector<int32_t>& prompt, int64_t max_new_tokens) {
  const int64_t limit = model_.config().max_position_embeddings;
  const int64_t needed = int64_t(prompt.size()) + max_new_tokens;
  TANDEM_CHECK(needed <= limit, "the prompt (", prompt.size(), " tokens) plus --max-new-tokens ", max_new_tokens,
               " exceeds the model's max_position_embeddings ", limit, " (in chat: /reset starts a new conversation)");
  if (!decoder_ || needed > decoder_->capacity()) {
    if (decoder_) ++rebuilds_;
    const int64_t capacity = decoder_ ? decoder_->capacity() : 0;
    decoder_ = std::make_unique<KvDecoder>(model_, std::min(limit, std::max({needed, 2 * capacity, int64_t(256)})));
    fed_.clear();
  }
  // Keep the longest prefix the cache shares with the prompt, but feed at least one token: the last prompt
  // position's logits come out of that feed.
  const size_t keep = std::min<size_t>(
      size_t(std::mismatch(fed_.begin(), fed_.end(), prompt.begin(), prompt.end()).first - fed_.begin()),
      prompt.size() - 1);
  if (keep < fed_.size()) {
    ++rewinds_;
    decoder_->truncate(int64_t(keep));
    fed_.resize(keep);
  }
  return std::vector<int32_t>(prompt.begin() + std::ptrdiff_t(keep), prompt.end());
}

std::vector<int32_t> ChatSession::reply(const std::vector<int32_t>& prompt, const GenerationConfig& cfg, Rng& rng) {
  TANDEM_CHECK(!prompt.empty(), "chat: empty prompt");
  const std::vector<int32_t> unseen = unseen_part(prompt, cfg.max_new_tokens);
  prefilled_ += int64_t(unseen.size());
  std::vector<float> logits = decoder_->feed(unseen);
  fed_.insert(fed_.end(), unseen.begin(), unseen.end());
  GenerationConfig c = cfg;
  c.stop_tokens = stop_tokens_;
  std::vector<int32_t> out = decoder_->continue_from(std::move(logits), c, rng);
  fed_.insert(fed_.end(), out.begin(), out.end() - 1);  // the last token is not fed (a stop token or the last one)
  return out;
}

}  // namespace tandem
