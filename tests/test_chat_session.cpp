// tandem chat's KV cache across turns (src/cli/chat_session.h). Reference: generate() (model/generate.h) from a
// fresh prefill of the whole prompt, itself checked against the full forward pass (tests/test_generate.cpp). Each
// greedy reply must be exactly the same tokens, while the session feeds only what its cache lacks; a prompt that
// rewrites earlier turns rewinds the cache to the shared prefix, a conversation outgrowing the cache reallocates it,
// and both still agree.
#include <gtest/gtest.h>

#include "cli/chat_session.h"
#include "expect_error.h"
#include "model/weights.h"

namespace tandem {
namespace {

constexpr int32_t kEndOfTurn = 3;

std::unique_ptr<DecoderModel> tiny_model(int64_t max_positions) {
  ModelConfig c;
  c.vocab_size = 64, c.hidden_size = 32, c.intermediate_size = 64, c.num_hidden_layers = 2;
  c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 8, c.max_position_embeddings = max_positions;
  auto model = std::make_unique<DecoderModel>(c);
  Rng rng(5);
  init_random(model->weights(), rng, 0.5);  // large weights: sharp logits, so greedy picks are far from ties
  return model;
}

std::vector<int32_t> user_turn(Rng& rng, int64_t n) {
  std::vector<int32_t> t;
  for (int64_t i = 0; i < n; ++i) t.push_back(int32_t(4 + rng.below(60)));  // never the end-of-turn token
  t.push_back(kEndOfTurn);
  return t;
}

GenerationConfig greedy(int64_t max_new) {
  GenerationConfig g;
  g.max_new_tokens = max_new;
  g.stop_tokens = {kEndOfTurn};
  return g;
}

// generate() from a fresh prefill: the reference every turn is held to.
std::vector<int32_t> fresh(const DecoderModel& m, const std::vector<int32_t>& prompt, int64_t max_new) {
  Rng unused(0);
  return generate(m, prompt, greedy(max_new), unused);
}

// The next prompt as a chat template renders it: the reply, closed by the end-of-turn token, then the user's turn.
void append_turn(std::vector<int32_t>& conversation, const std::vector<int32_t>& reply,
                 const std::vector<int32_t>& user) {
  conversation.insert(conversation.end(), reply.begin(), reply.end());
  if (reply.empty() || reply.back() != kEndOfTurn) conversation.push_back(kEndOfTurn);
  conversation.insert(conversation.end(), user.begin(), user.end());
}

TEST(ChatSession, TurnsEqualAFreshPrefillWhileFeedingOnlyTheNewTokens) {
  const auto model = tiny_model(1024);
  ChatSession session(*model, {kEndOfTurn});
  Rng data(1), rng(0);
  std::vector<int32_t> conversation = user_turn(data, 20);
  int64_t fed = 0, prompts = 0;  // ids in the cache after a turn; prompt tokens a fresh prefill feeds
  int64_t expected_prefill = 0;
  for (int turn = 0; turn < 4; ++turn) {
    const std::vector<int32_t> reply = session.reply(conversation, greedy(6), rng);
    EXPECT_EQ(reply, fresh(*model, conversation, 6)) << "turn " << turn;
    expected_prefill += int64_t(conversation.size()) - fed;
    prompts += int64_t(conversation.size());
    fed = int64_t(conversation.size() + reply.size()) - 1;  // the last reply token is sampled, not fed
    append_turn(conversation, reply, user_turn(data, 7));
  }
  EXPECT_EQ(session.rebuilds(), 0);
  EXPECT_EQ(session.prefilled_tokens(), expected_prefill);
  EXPECT_LT(session.prefilled_tokens(), prompts / 2) << "a fresh prefill each turn feeds " << prompts;
}

TEST(ChatSession, ARenderingThatRewritesEarlierTurnsRewindsTheCacheToTheSharedPrefix) {
  const auto model = tiny_model(1024);
  ChatSession session(*model, {kEndOfTurn});
  Rng data(2), rng(0);
  const std::vector<int32_t> first = user_turn(data, 15), second = user_turn(data, 9);
  EXPECT_EQ(session.reply(first, greedy(6), rng), fresh(*model, first, 6));
  // As a template dropping the earlier reply's reasoning: the reply is gone from the re-rendering.
  std::vector<int32_t> rewritten = first;
  rewritten.insert(rewritten.end(), second.begin(), second.end());
  EXPECT_EQ(session.reply(rewritten, greedy(6), rng), fresh(*model, rewritten, 6));
  EXPECT_EQ(session.rewinds(), 1);
  EXPECT_EQ(session.rebuilds(), 0);
  EXPECT_EQ(session.prefilled_tokens(), int64_t(first.size() + second.size()));  // the first turn stays cached
  // A prompt equal to what the cache holds gives no new position to read logits from: its last token is fed again.
  ChatSession again(*model, {kEndOfTurn});
  const std::vector<int32_t> r = again.reply(first, greedy(1), rng);
  EXPECT_EQ(again.reply(first, greedy(1), rng), r);
  EXPECT_EQ(again.prefilled_tokens(), int64_t(first.size()) + 1);
  EXPECT_EQ(again.rewinds(), 1);  // back by one position: a one-token reply is not fed, the cache held `first`
}

TEST(ChatSession, AConversationOutgrowingTheCacheReallocatesItAndStopsAtTheModelsLimit) {
  const auto model = tiny_model(400);
  ChatSession session(*model, {kEndOfTurn});
  Rng data(3), rng(0);
  std::vector<int32_t> conversation = user_turn(data, 100);
  int64_t turns = 0;
  while (int64_t(conversation.size()) + 8 <= 400) {
    const std::vector<int32_t> reply = session.reply(conversation, greedy(8), rng);
    EXPECT_EQ(reply, fresh(*model, conversation, 8)) << conversation.size() << " prompt tokens";
    append_turn(conversation, reply, user_turn(data, 60));
    ++turns;
  }
  ASSERT_GE(turns, 3);
  // The first cache holds 256 positions; the next one all 400 the model has.
  EXPECT_EQ(session.rebuilds(), 1);
  testing::expect_error([&] { session.reply(conversation, greedy(8), rng); },
                        {"plus --max-new-tokens 8", "max_position_embeddings 400", "/reset"});
  session.reset();
  const std::vector<int32_t> fresh_start = user_turn(data, 5);
  EXPECT_EQ(session.reply(fresh_start, greedy(8), rng), fresh(*model, fresh_start, 8));
}

}  // namespace
}  // namespace tandem
