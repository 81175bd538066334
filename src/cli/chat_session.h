// The KV cache of `tandem chat`, kept across turns. Each turn the whole conversation is rendered and encoded again
// (chat templates may re-render earlier turns differently, e.g. dropping reasoning); when the ids already in the
// cache are a prefix of the new ones, only the rest is fed; otherwise the cache is rewound to the longest prefix it
// shares with them (KvDecoder::truncate) and the rest fed. Either way the reply is the one generation from a fresh
// prefill would give (model/generate.h's generate()).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/rng.h"
#include "model/generate.h"
#include "model/decoder_model.h"

namespace tandem {

class ChatSession {
 public:
  ChatSession(const DecoderModel& model, std::vector<int32_t> stop_tokens);
  // Continues `prompt` (the whole conversation so far); returns the new tokens, the stop token that ended them
  // included. Fails naming the limit when prompt + max_new_tokens exceeds max_position_embeddings.
  std::vector<int32_t> reply(const std::vector<int32_t>& prompt, const GenerationConfig& cfg, Rng& rng);
  // Forgets the conversation; the cache's memory is kept for the next one.
  void reset() {
    fed_.clear();
    if (decoder_) decoder_->reset();
  }

  // Prompt tokens fed through the model so far (all turns); how often the cache was rewound to a shared prefix, and
  // how often it was reallocated (a conversation outgrowing it; its contents are fed again).
  int64_t prefilled_tokens() const { return prefilled_; }
  int64_t rewinds() const { return rewinds_; }
  int64_t rebuilds() const { return rebuilds_; }

 private:
  // The tokens of `prompt` the cache does not hold yet, after rewinding it to what it shares with `prompt`, or
  // reallocating it when it would overflow.
  std::vector<int32_t> unseen_part(const std::vector<int32_t>& prompt, int64_t max_new_tokens);

  const DecoderModel& model_;
  std::vector<int32_t> stop_tokens_;
  std::unique_ptr<KvDecoder> decoder_;
  std::vector<int32_t> fed_;  // the ids in the cache, in order (decoder_->length() of them)
  int64_t prefilled_ = 0, rewinds_ = 0, rebuilds_ = 0;
};

}  // namespace tandem
