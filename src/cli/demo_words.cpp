#include "cli/demo_words.h"

#include <cstdio>
#include <filesystem>
#include <vector>

#include "cli/commands.h"
#include "cli/demo_base.h"
#include "eval/report.h"
#include "io/atomic_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer_folder.h"

namespace tandem {

namespace fs = std::filesystem;

namespace {
constexpr int64_t kVocabSize = 1536;

// The data's key: the cached tokenizer and base are reused only for the same words and seed.
std::string data_key(const WordsTestbedOptions& o) {
  std::string key = "n";  // appended: GCC 12's -Wrestrict misfires on "literal" + std::to_string(...)
  return key.append(std::to_string(o.words)).append("-s").append(std::to_string(o.seed));
}

// A byte-level BPE learned from the pretraining corpus (what `tandem train-tokenizer` does), cached.
std::string cached_tokenizer(const std::string& cache, const WordsTestbedOptions& o) {
  const std::string dir = cache + "/words-tokenizer-v1-" + data_key(o);
  if (fs::exists(dir + "/tokenizer.json")) return dir;
  std::vector<std::string> texts = words_pretraining_texts(choose_words(o), o);
  for (std::string& t : texts) t += "\n";
  BpeTrainerOptions bpe;
  bpe.vocab_size = kVocabSize;
  bpe.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};  // EOS and the ChatML markers
  const std::string tmp = dir + ".tmp";
  fs::remove_all(tmp);
  write_tokenizer_folder(tmp, train_bpe(texts, bpe), bpe.special_tokens);
  fs::rename(tmp, dir);
  std::printf("tokenizer: %s (trained once)\n", dir.c_str());
  return dir;
}
}  // namespace

int run_words_demo(const DemoPaths& p, const WordsTestbedOptions& o) {
  const std::string task = p.out + "/task";
  fs::remove_all(p.out + "/sweep");
  write_words_data(task, o);
  fs::create_directories(p.cache);
  const std::string tokenizer = fs::absolute(cached_tokenizer(p.cache, o)).string();
  const int64_t vocab = BpeTokenizer::from_file(tokenizer + "/tokenizer.json").vocab_size();
  write_words_configs(task, tokenizer, vocab, o);
  std::string base_name = "/words-base-v1-";
  base_name.append(data_key(o)).append("-d").append(std::to_string(o.hidden_size)).append("x");
  base_name.append(std::to_string(o.layers)).append("-p").append(std::to_string(o.pretrain_steps));
  const std::string base =
      fs::absolute(cached_pretrained_base(task + "/pretrain.toml", p.cache + base_name, tokenizer)).string();
  std::vector<std::string> args = {task + "/train.toml", "--lambdas", p.lambdas, "--seeds", p.seeds, "--out",
                                   p.out + "/sweep", "model_config=\"\"", "model_name_or_path=\"" + base + "\"",
                                   std::string("max_steps=").append(std::to_string(o.steps)), "--testbed", "words", "--jobs", p.jobs,
                                   // the costs beside the results, as the toy demo measures them
                                   "--cost-repeats", "3", "--cost-steps", "20"};
  if (!p.methods.empty()) args.insert(args.end(), {"--methods", p.methods});
  std::vector<char*> argv_sweep;
  for (auto& s : args) argv_sweep.push_back(s.data());
  const int rc = cmd_sweep(int(argv_sweep.size()), argv_sweep.data());
  if (rc != 0) return rc;
  write_file_atomic(p.out + "/report.html", sweep_report_html(p.out + "/sweep"));
  std::printf("wrote %s/report.html\n", p.out.c_str());
  return 0;
}

}  // namespace tandem
