// `tandem inspect-data CONFIG.toml [--dataset sft|preference|both] [--n N] [--ids] [key=value ...]`: the first
// examples as the model sees them. The datasets are loaded as training loads them (same tokenizer folder, chat
// template and vocabulary check) and cut by the training collate functions, so truncation is the training one.
// Unscored tokens (the prompt) are shown dim and scored ones (the completion) in colour in a terminal; otherwise
// each part is its own line of |-separated tokens.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command_table.h"
#include "cli/commands.h"
#include "core/check.h"
#include "data/collate.h"
#include "data/text_formats.h"
#include "data/tokenizer_dir.h"
#include "model/config.h"
#include "train/run_summary.h"
#include "train/train_config.h"

namespace tandem {

namespace {

struct View {
  const BpeTokenizer* tokenizer;  // null: pre-tokenized data shown as ids
  bool ids, color;
};

std::string visible(const std::string& piece) {
  std::string out;
  for (char ch : piece) {
    if (ch == '\n') out += "\\n";
    else if (ch == '\t') out += "\\t";
    else if (ch == '\r') out += "\\r";
    else out += ch;
  }
  return out;
}

std::string piece(const View& v, int32_t id) {
  if (!v.tokenizer) return std::to_string(id);
  std::string s = visible(v.tokenizer->decode({id}));
  if (v.ids) s.append("(").append(std::to_string(id)).append(")");
  return s;
}

// One row of a collated batch: its unscored then scored tokens.
void show_row(const View& v, const Batch& b, int64_t row, const char* label) {
  const int64_t T = b.seq, n = b.lengths[row];
  std::string unscored, scored;
  int64_t n_unscored = 0, n_scored = 0;
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = b.tokens[row * T + t];
    const bool is_scored = b.loss_mask[row * T + t] != 0;
    std::string& out = is_scored ? scored : unscored;
    if (v.color)
      out += (is_scored ? (n_scored % 2 ? "\x1b[1;36m" : "\x1b[1;32m") : "\x1b[2m") + piece(v, id) + "\x1b[0m";
    else
      out += piece(v, id) + "|";
    ++(is_scored ? n_scored : n_unscored);
  }
  std::printf("  %s: %lld tokens, %lld scored\n", label, (long long)n, (long long)n_scored);
  if (v.color) {
    std::printf("    %s%s\n", unscored.c_str(), scored.c_str());
  } else {
    std::printf("    [prompt, not scored] |%s\n", unscored.c_str());
    std::printf("    [completion, scored] |%s\n", scored.c_str());
  }
}

std::string cut_note(size_t prompt, size_t response, const Truncation& t) {
  const int64_t p = std::min<int64_t>(int64_t(prompt), t.max_prompt_length);
  const int64_t r = std::min<int64_t>(int64_t(response), t.max_length - p);
  if (p == int64_t(prompt) && r == int64_t(response)) return "";
  return " (truncated: prompt " + std::to_string(p) + " of " + std::to_string(prompt) + ", response " +
         std::to_string(r) + " of " + std::to_string(response) + ")";
}

}  // namespace

int cmd_inspect_data(int argc, char** argv) {
  const Args args(ArgSpec{.usage = find_command("inspect-data")->usage,
                          .options = {"dataset", "n"},
                          .flags = {"ids"},
                          .positionals = {"CONFIG.toml"},
                          .rest = "key=value"}, argc, argv);
  const std::string& config = args.positionals()[0];
  const std::vector<std::string> overrides(args.positionals().begin() + 1, args.positionals().end());
  const std::string which = args.str("dataset", "both");
  const int64_t n = args.integer("n", 3);
  TANDEM_CHECK(n >= 0, "--n expects a count, got ", n);
  const bool ids = args.has("ids");
  TANDEM_CHECK(which == "sft" || which == "preference" || which == "both",
               "--dataset must be sft, preference or both, got '", which, "'");
  const TrainConfig cfg = TrainConfig::from_toml_file(config, overrides);
  cfg.validate(config);
  const Truncation trunc{cfg.max_length, cfg.max_prompt_length, cfg.truncation_mode == "keep_start"};
  trunc.validate();

  // The tokenizer and vocabulary as the Trainer resolves them.
  const std::unique_ptr<TokenizerDir> tok =
      load_run_tokenizer(cfg.tokenizer_name_or_path, cfg.model_name_or_path, cfg.use_chat_template);
  const std::string model_config = cfg.model_name_or_path.empty() ? cfg.model_config : cfg.model_name_or_path + "/config.json";
  TextEncoder encoder = tok ? tok->encoder() : TextEncoder{};
  encoder.vocab_size = ModelConfig::from_file(model_config).vocab_size;
  const View view{tok ? &tok->tokenizer : nullptr, ids, bool(isatty(STDOUT_FILENO))};
  std::printf("tokenizer: %s%s\n", tok ? tok->dir.c_str() : "none (pre-tokenized data)",
              tok && tok->chat_template ? (std::string(", chat template ") + tok->chat_template->name()).c_str() : "");

  if (which != "preference" && !cfg.sft_dataset.empty()) {
    const std::vector<SftExample> data = load_sft_dataset(cfg.sft_dataset, &encoder, cfg.dataset_text_field);
    std::printf("\nsft_dataset %s: %s\n", cfg.sft_dataset.c_str(), sft_data_summary(data, trunc).dump().c_str());
    for (int64_t i = 0; i < std::min<int64_t>(n, int64_t(data.size())); ++i) {
      const SftExample& e = data[size_t(i)];
      std::printf("example %lld%s\n", (long long)i + 1, cut_note(e.prompt.size(), e.completion.size(), trunc).c_str());
      show_row(view, collate_sft({&e}, trunc), 0, "sequence");
    }
  }
  if (which != "sft" && !cfg.preference_dataset.empty()) {
    const std::vector<PreferenceExample> data = load_preference_dataset(cfg.preference_dataset, &encoder);
    std::printf("\npreference_dataset %s: %s\n", cfg.preference_dataset.c_str(),
                preference_data_summary(data, trunc).dump().c_str());
    for (int64_t i = 0; i < std::min<int64_t>(n, int64_t(data.size())); ++i) {
      const PreferenceExample& e = data[size_t(i)];
      std::printf("pair %lld\n", (long long)i + 1);
      const Batch b = collate_preference({&e}, trunc);  // rows: chosen, rejected
      show_row(view, b, 0, ("chosen" + cut_note(e.prompt.size(), e.chosen.size(), trunc)).c_str());
      show_row(view, b, 1, ("rejected" + cut_note(e.prompt.size(), e.rejected.size(), trunc)).c_str());
    }
  }
  return 0;
}

}  // namespace tandem
