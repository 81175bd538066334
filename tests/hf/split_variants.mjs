// Tokenizer files that exercise every Split behaviour, invert, String patterns, empty matches, Digits, Punctuation
// and ByteLevel's per-piece prefix space: the Llama-3 tokenizer.json with its pre_tokenizer replaced. The C++ tests
// compare their ids with the Hugging Face library's (tokens_split_<name>.json, written by make_reference.sh).
// usage: node split_variants.mjs BASE_TOKENIZER_JSON OUT_DIR   (prints the variant names)
import { readFileSync, writeFileSync } from "node:fs";

const [basePath, outDir] = process.argv.slice(2);
const base = JSON.parse(readFileSync(basePath, "utf8"));
const split = (pattern, behavior, invert = false) => ({ type: "Split", pattern, behavior, invert });
const byteLevel = (add_prefix_space, use_regex) => ({ type: "ByteLevel", add_prefix_space, trim_offsets: false, use_regex });
const seq = (...steps) => ({ type: "Sequence", pretokenizers: steps });
const variants = {
  removed: seq(split({ Regex: "\\s+" }, "Removed"), byteLevel(false, false)),
  removed_invert: seq(split({ Regex: "\\p{L}+" }, "Removed", true), byteLevel(false, false)),
  merged_previous: seq(split({ Regex: "[.,!?;:]" }, "MergedWithPrevious"), byteLevel(false, true)),
  merged_next: seq(split({ String: " " }, "MergedWithNext"), byteLevel(false, false)),
  merged_next_invert: seq(split({ Regex: "\\d+" }, "MergedWithNext", true), byteLevel(false, false)),
  contiguous: seq(split({ Regex: "\\p{N}|\\p{P}" }, "Contiguous"), byteLevel(false, false)),
  string_pattern: seq(split({ String: "a.b" }, "Isolated"), split({ String: "--" }, "Removed"), byteLevel(false, false)),
  empty_matches: seq(split({ Regex: "x*" }, "Isolated"), byteLevel(false, false)),
  lazy_lookahead: seq(split({ Regex: "\\w+?(?=\\s|$)|(?i:the|ß)|\\s+|^." }, "Isolated"), byteLevel(false, false)),
  case_fold: seq(split({ Regex: "(?i:'s|k|ǆ)" }, "Removed"), byteLevel(false, false)),
  digits: seq({ type: "Digits", individual_digits: true }, byteLevel(false, true)),
  digits_runs: seq({ type: "Digits", individual_digits: false }, byteLevel(false, false)),
  punctuation: seq({ type: "Punctuation", behavior: "Isolated" }, byteLevel(false, false)),
  prefix_after_split: seq(split({ Regex: "\\s+" }, "Removed"), byteLevel(true, true)),
};
for (const [name, pre] of Object.entries(variants)) {
  writeFileSync(`${outDir}/split_${name}.tokenizer.json`, JSON.stringify({ ...base, pre_tokenizer: pre }));
  console.log(name);
}
