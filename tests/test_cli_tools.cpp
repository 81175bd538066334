// train-tokenizer, generate, chat and inspect-data through the real binary, on a tokenizer it trains and a tiny
// random model. References are computed here independently of the commands: generation against greedy decoding
// through the full (non-cached) forward pass, the chat template against the ChatML format text, inspect-data's
// tokens against the tokenizer's encoding cut by max_prompt_length / max_length by hand.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "data/tokenizer_dir.h"
#include "io/hf_checkpoint.h"
#include "model/decoder_model.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::run_tandem;
using testing::slurp;

// One folder per process: ctest runs each test as its own process, possibly side by side (ctest -j).
const fs::path kRoot = fs::temp_directory_path() / ("tandem_cli_tools-" + std::to_string(getpid()));

const char* kCorpus[] = {"the quick brown fox jumps over the lazy dog",
                         "a tandem bicycle is a bicycle for two riders",
                         "the model keeps what it learned first while it learns the second",
                         "hello world, hello tandem, hello again"};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string corpus_text() {
  std::string s;
  for (int rep = 0; rep < 5; ++rep)
    for (const char* line : kCorpus) s += std::string(line) + "\n";
  return s;
}

// Once for the suite: a tokenizer folder trained by the binary, and a random tiny model folder carrying it.
class CliTools : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(kRoot);
    fs::create_directories(kRoot / "work");
    write(kRoot / "work/corpus.txt", corpus_text());
    const auto r = run_tandem(kRoot / "work", "train-tokenizer --out ../tok --vocab-size 320 corpus.txt");
    ASSERT_EQ(r.status, 0) << r.err;
    ModelConfig c;
    c.vocab_size = BpeTokenizer::from_file((kRoot / "tok/tokenizer.json").string()).vocab_size();
    c.hidden_size = 32, c.intermediate_size = 64, c.num_hidden_layers = 2;
    c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 8, c.max_position_embeddings = 256;
    DecoderModel model(c);
    Rng rng(11);
    init_random(model.weights(), rng);
    save_model(model, (kRoot / "model").string());
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      fs::copy_file(kRoot / "tok" / f, kRoot / "model" / f, fs::copy_options::overwrite_existing);
  }
  static void TearDownTestSuite() { fs::remove_all(kRoot); }  // the folder is this process's own
  static fs::path work(const std::string& name) {
    const fs::path d = kRoot / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }
};

// Greedy decoding through the full forward pass: the whole sequence again for every new token.
std::vector<int32_t> greedy_full_forward(DecoderModel& m, std::vector<int32_t> ids, int64_t max_new,
                                         const std::vector<int32_t>& stops) {
  const int64_t V = m.config().vocab_size;
  std::vector<int32_t> out;
  for (int64_t i = 0; i < max_new; ++i) {
    Batch b(1, int64_t(ids.size()));
    b.tokens = ids;
    const std::vector<float> logits = m.logits(b);
    const float* last = logits.data() + (int64_t(ids.size()) - 1) * V;
    const int32_t next = int32_t(std::max_element(last, last + V) - last);
    if (std::find(stops.begin(), stops.end(), next) != stops.end()) break;  // the reply ends before it
    out.push_back(next);
    ids.push_back(next);
  }
  return out;
}

const std::string kChatmlHf =  // Hugging Face's chat templating guide, the ChatML example, verbatim
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

TEST_F(CliTools, TrainTokenizerWritesACompleteFolderCreatingParents) {
  const fs::path d = work("tok_folder");
  write(d / "corpus.txt", corpus_text());
  const auto r = run_tandem(d, "train-tokenizer --out deep/er/tok --vocab-size 300 corpus.txt");
  ASSERT_EQ(r.status, 0) << r.err;
  const fs::path tok = d / "deep/er/tok";
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    EXPECT_TRUE(fs::exists(tok / f)) << f;
  const nlohmann::json cfg = nlohmann::json::parse(slurp(tok / "tokenizer_config.json"));
  EXPECT_EQ(cfg["chat_template"], kChatmlHf);
  EXPECT_EQ(cfg["eos_token"], "<|endoftext|>");
  EXPECT_EQ(cfg["pad_token"], "<|endoftext|>");
  EXPECT_TRUE(cfg["bos_token"].is_null());
  const nlohmann::json map = nlohmann::json::parse(slurp(tok / "special_tokens_map.json"));
  EXPECT_EQ(map["eos_token"], "<|endoftext|>");

  const auto dir = load_tokenizer_dir(tok.string());
  ASSERT_TRUE(dir && dir->chat_template);
  EXPECT_EQ(dir->tokenizer.vocab_size(), 300);
  EXPECT_EQ(dir->eos_id, dir->tokenizer.token_id("<|endoftext|>"));
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    const int32_t id = dir->tokenizer.token_id(special);
    ASSERT_GE(id, 0) << special;
    EXPECT_EQ(dir->tokenizer.encode(special), std::vector<int32_t>{id}) << special << " is not one token";
  }
  EXPECT_EQ(dir->chat_template->render({{"user", "hi", std::nullopt}, {"assistant", "yo", std::nullopt}}, true),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n<|im_start|>assistant\n");

  // The folder's template as @huggingface/jinja (transformers.js) renders it = `tandem chat-template` on it.
  write(d / "messages.json", R"([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                                 {"role": "assistant", "content": "yo"}, {"role": "user", "content": "again"}])");
  const std::string config = (tok / "tokenizer_config.json").string(), messages = (d / "messages.json").string();
  const std::string jinja = (d / "jinja.txt").string();
  const std::string node =
      "cd '" + std::string(TANDEM_HF_DIR) + "' && node --input-type=module -e '"
      "import { Template } from \"@huggingface/jinja\"; import { readFileSync } from \"node:fs\";"
      "const cfg = JSON.parse(readFileSync(process.argv[1], \"utf8\"));"
      "const messages = JSON.parse(readFileSync(process.argv[2], \"utf8\"));"
      "process.stdout.write(new Template(cfg.chat_template).render({messages, add_generation_prompt: true}));' '" +
      config + "' '" + messages + "' > '" + jinja + "'";
  ASSERT_EQ(std::system(node.c_str()), 0) << "failed: " << node << " (node and tests/hf/node_modules are needed)";
  const auto r2 = run_tandem(d, "chat-template '" + config + "' '" + messages + "' --generation-prompt");
  ASSERT_EQ(r2.status, 0) << r2.err;
  EXPECT_EQ(r2.out, slurp(jinja));
  EXPECT_NE(r2.out.find("<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\n"), std::string::npos) << r2.out;
}

TEST_F(CliTools, TrainTokenizerToAJsonFileWritesOnlyTokenizerJson) {
  const fs::path d = work("tok_file");
  write(d / "corpus.txt", corpus_text());
  const auto r = run_tandem(d, "train-tokenizer --out out/tokenizer.json --vocab-size 300 corpus.txt");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(d / "out/tokenizer.json"));
  EXPECT_FALSE(fs::exists(d / "out/tokenizer_config.json"));
}

TEST_F(CliTools, TrainTokenizerRefusesJsonlUnlessTextFieldNamesTheField) {
  const fs::path d = work("tok_jsonl");
  std::string jsonl, txt, array = "[\n";
  for (int rep = 0; rep < 5; ++rep)
    for (const char* line : kCorpus) {
      jsonl += nlohmann::json{{"text", line}, {"id", rep}}.dump() + "\n";
      txt += std::string(line) + "\n";
      array += "  " + nlohmann::json{{"text", line}}.dump() + ",\n";
    }
  write(d / "corpus.jsonl", jsonl);
  write(d / "looks_plain.txt", jsonl);  // JSON object lines under another name
  write(d / "corpus.txt", txt);
  write(d / "array.json", array + "  {\"text\": \"x\"}\n]\n");
  write(d / "missing.jsonl", "{\"text\": \"a\"}\n{\"body\": \"b\"}\n");

  for (const char* file : {"corpus.jsonl", "looks_plain.txt"}) {
    const auto r = run_tandem(d, std::string("train-tokenizer --out t.json ") + file);
    EXPECT_EQ(r.status, 1) << file;
    EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--text-field"), std::string::npos) << r.err;
  }
  // From the field, it learns what a text file of the same lines teaches: the same tokenizer.json.
  ASSERT_EQ(run_tandem(d, "train-tokenizer --out field.json --vocab-size 300 --text-field text corpus.jsonl").status, 0);
  ASSERT_EQ(run_tandem(d, "train-tokenizer --out plain.json --vocab-size 300 corpus.txt").status, 0);
  EXPECT_EQ(slurp(d / "field.json"), slurp(d / "plain.json"));

  auto r = run_tandem(d, "train-tokenizer --out a.json --text-field text array.json");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("array.json: expected JSONL (one object per line)"), std::string::npos) << r.err;
  r = run_tandem(d, "train-tokenizer --out m.json --text-field text missing.jsonl");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("missing.jsonl:2"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d / "a.json") || fs::exists(d / "m.json") || fs::exists(d / "t.json"));
}

TEST_F(CliTools, GreedyGenerateEqualsFullForwardGreedyDecoding) {
  auto model = load_model((kRoot / "model").string());
  const auto tok = load_tokenizer_dir((kRoot / "model").string());
  ASSERT_TRUE(tok && tok->chat_template);
  // A reply ends at EOS or ChatML's end of turn.
  const std::vector<int32_t> stops = {tok->tokenizer.token_id("<|endoftext|>"), tok->tokenizer.token_id("<|im_end|>")};
  const fs::path d = work("generate");
  for (const bool templated : {true, false}) {
    const std::string text = "hello tandem";
    const std::string prompt =
        templated ? "<|im_start|>user\n" + text + "<|im_end|>\n<|im_start|>assistant\n" : text;  // ChatML by hand
    // Raw text is encoded as transformers' tokenizer(text) does, with the post-processor's special tokens.
    const std::vector<int32_t> expected =
        greedy_full_forward(*model, tok->tokenizer.encode(prompt, /*add_special_tokens=*/!templated), 12, stops);
    const auto r = run_tandem(d, "generate '" + (kRoot / "model").string() + "' --prompt '" + text +
                                     "' --max-new-tokens 12" + (templated ? "" : " --no-chat-template"));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, tok->tokenizer.decode(expected) + "\n") << (templated ? "chat template" : "raw prompt");
  }
}

TEST_F(CliTools, ChatThroughAPipeKeepsTheConversationAndResets) {
  auto model = load_model((kRoot / "model").string());
  const auto tok = load_tokenizer_dir((kRoot / "model").string());
  const std::vector<int32_t> stops = {tok->tokenizer.token_id("<|endoftext|>"), tok->tokenizer.token_id("<|im_end|>")};
  auto answer = [&](const std::string& rendered) {
    return tok->tokenizer.decode(greedy_full_forward(*model, tok->tokenizer.encode(rendered), 8, stops));
  };
  auto turn = [](const std::string& role, const std::string& content) {
    return "<|im_start|>" + role + "\n" + content + "<|im_end|>\n";
  };
  const std::string gen = "<|im_start|>assistant\n";
  const std::string a1 = answer(turn("user", "hello world") + gen);
  const std::string a2 = answer(turn("user", "hello world") + turn("assistant", a1) + turn("user", "the fox") + gen);
  const std::string a3 = answer(turn("user", "a bicycle") + gen);  // after /reset: a fresh conversation
  const fs::path d = work("chat");
  const auto r = run_tandem(d, "chat '" + (kRoot / "model").string() + "' --max-new-tokens 8",
                            "hello world\nthe fox\n/reset\na bicycle\n/exit\nnever read\n", true);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, a1 + "\n" + a2 + "\n(conversation reset)\n" + a3 + "\n");
}

// chat keeps its KV cache across turns (src/cli/chat_session.h): where a turn's rendering extends the ids already
// fed, only the rest is prefilled. The count it reports is checked against the rule worked out here from the
// renderings' ids; the replies against greedy decoding through the full forward pass. Three-token replies of this
// model re-encode to the same ids (asserted), so the cache is reused on every turn.
TEST_F(CliTools, ChatPrefillsOnlyWhatItsCacheLacks) {
  auto model = load_model((kRoot / "model").string());
  const auto tok = load_tokenizer_dir((kRoot / "model").string());
  const int32_t im_end = tok->tokenizer.token_id("<|im_end|>");
  const std::vector<int32_t> stops = {tok->tokenizer.token_id("<|endoftext|>"), im_end};
  const int64_t max_new = 3;
  std::string rendered, expected_out;
  int64_t prefilled = 0, fresh = 0;
  std::vector<int32_t> fed;  // what the cache holds after a turn
  for (const std::string user : {"hello world", "the fox", "the quick brown"}) {
    rendered += "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n";
    const std::vector<int32_t> ids = tok->tokenizer.encode(rendered);
    const bool extends = ids.size() > fed.size() && std::equal(fed.begin(), fed.end(), ids.begin());
    ASSERT_TRUE(extends || fed.empty()) << "turn '" << user << "' re-encodes the earlier turns differently";
    prefilled += int64_t(ids.size() - fed.size());
    fresh += int64_t(ids.size());
    const std::vector<int32_t> reply = greedy_full_forward(*model, ids, max_new, stops);
    const std::string text = tok->tokenizer.decode(reply);
    ASSERT_EQ(tok->tokenizer.encode(text), reply) << "the reply must re-encode to itself for the cache to be reused";
    fed = ids;
    fed.insert(fed.end(), reply.begin(), reply.end());
    if (int64_t(reply.size()) == max_new) fed.pop_back();  // the last token sampled is not fed (a stop token neither)
    rendered += text + "<|im_end|>\n";
    expected_out += text + "\n";
  }
  ASSERT_LT(prefilled, fresh);
  const auto r = run_tandem(work("chat_cache"), "chat '" + (kRoot / "model").string() + "' --max-new-tokens 3",
                            "hello world\nthe fox\nthe quick brown\n", true);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, expected_out);
  EXPECT_NE(r.err.find("chat: " + std::to_string(prefilled) + " prompt tokens prefilled, 0 cache rewinds, 0 cache rebuilds"),
            std::string::npos) << r.err << "(a fresh prefill each turn: " << fresh << ")";
}

TEST_F(CliTools, InspectDataShowsTokensWithThePromptMaskAsTrainingCutsThem) {
  const fs::path d = work("inspect");
  const std::string prompt = "zebras vex quartz jugs", completion = " the lazy dog";  // prompt: rare bytes
  write(d / "sft.jsonl", nlohmann::json{{"prompt", prompt}, {"completion", completion}}.dump() + "\n" +
                             nlohmann::json{{"prompt", "a"}, {"completion", " b"}}.dump() + "\n");
  write(d / "pref.jsonl", nlohmann::json{{"prompt", "hello"}, {"chosen", " world"}, {"rejected", " again"}}.dump() + "\n");
  const int64_t max_length = 12, max_prompt = 5;
  write(d / "c.toml", "model_config = \"" + (kRoot / "model/config.json").string() + "\"\ntokenizer_name_or_path = \"" +
                          (kRoot / "tok").string() + "\"\nsft_dataset = \"sft.jsonl\"\npreference_dataset = " +
                          "\"pref.jsonl\"\nmax_length = " + std::to_string(max_length) +
                          "\nmax_prompt_length = " + std::to_string(max_prompt) + "\n");
  const auto r = run_tandem(d, "inspect-data c.toml --n 1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(d / "c.toml") && !fs::exists(d / "runs")) << "inspect-data wrote something";

  const auto tok = load_tokenizer_dir((kRoot / "tok").string());
  auto pieces = [&](const std::vector<int32_t>& ids, size_t from, size_t to) {
    std::string s = "|";
    for (size_t i = from; i < to; ++i) s += tok->tokenizer.decode({ids[i]}) + "|";
    return s;
  };
  std::vector<int32_t> p = tok->tokenizer.encode(prompt), c = tok->tokenizer.encode(completion);
  c.push_back(tok->eos_id);  // plain-text completions end with EOS, as in TRL
  ASSERT_GT(int64_t(p.size()), max_prompt) << "the test needs a prompt that gets truncated";
  const size_t kept_completion = std::min<size_t>(c.size(), size_t(max_length - max_prompt));
  EXPECT_NE(r.out.find("[prompt, not scored] " + pieces(p, p.size() - size_t(max_prompt), p.size()) + "\n"),
            std::string::npos) << "keep_end keeps the prompt's last tokens:\n" << r.out;
  EXPECT_NE(r.out.find("[completion, scored] " + pieces(c, 0, kept_completion) + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"examples\":2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"truncated_examples\":1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("example 2"), std::string::npos) << "--n 1 shows one example:\n" << r.out;

  std::vector<int32_t> chosen = tok->tokenizer.encode(" world");
  chosen.push_back(tok->eos_id);
  EXPECT_NE(r.out.find("[completion, scored] " + pieces(chosen, 0, chosen.size()) + "\n"), std::string::npos) << r.out;

  const auto ids = run_tandem(d, "inspect-data c.toml --dataset sft --n 1 --ids");
  ASSERT_EQ(ids.status, 0) << ids.err;
  EXPECT_NE(ids.out.find(tok->tokenizer.decode({c[0]}) + "(" + std::to_string(c[0]) + ")|"), std::string::npos)
      << ids.out;
  EXPECT_EQ(ids.out.find("preference_dataset"), std::string::npos) << ids.out;
}

}  // namespace
}  // namespace tandem
