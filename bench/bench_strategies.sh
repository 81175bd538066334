#!/usr/bin/env bash
# Per-step time and peak memory of every strategy relative to single-objective steps, each strategy a separate
# `tandem train` process on the same synthetic data and model (d=256, 4 layers, vocab 8192, ~100-token
# prompts and ~60-token responses, batch 8).
# usage: bench/bench_strategies.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build=${1:-build}
steps=${2:-20}
work=$(mktemp -d /tmp/tandem_bench_strategies.XXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work" <<'PY'
import json, random, sys
d = sys.argv[1]
random.seed(0)
V = 8192
def seq(n): return [random.randrange(4, V) for _ in range(n)]
with open(f"{d}/sft.jsonl", "w") as f:
    for _ in range(256):
        f.write(json.dumps({"prompt_ids": seq(random.randint(80, 120)), "completion_ids": seq(random.randint(40, 80))}) + "\n")
with open(f"{d}/pref.jsonl", "w") as f:
    for _ in range(256):
        f.write(json.dumps({"prompt_ids": seq(random.randint(80, 120)), "chosen_ids": seq(random.randint(40, 80)),
                            "rejected_ids": seq(random.randint(40, 80))}) + "\n")
json.dump({"model_type": "llama", "vocab_size": V, "hidden_size": 256, "intermediate_size": 688,
           "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 4}, open(f"{d}/config.json", "w"))
open(f"{d}/train.toml", "w").write(f'''model_config = "{d}/config.json"
sft_dataset = "{d}/sft.jsonl"
preference_dataset = "{d}/pref.jsonl"
reference_cache_dir = "{d}/cache"
per_device_train_batch_size = 8
eval_max_examples = 8
progress = false
''')
PY
echo "strategy   s/step   vs SFT step  vs DPO step  peak MiB  vs DPO-only  updates (sft/dpo)"
# name:strategy:extra override
for spec in sft:sft: dpo:dpo: sequential:sequential: mix:mix: alright:alright: maxright:maxright: \
            maxright_k1:maxright:maxright_k=1; do
  IFS=: read -r name strategy extra <<< "$spec"
  OMP_NUM_THREADS=$(nproc) "$build/tandem" train "$work/train.toml" strategy=\"$strategy\" max_steps=$steps \
    output_dir=\"$work/$name\" $extra > "$work/$name.log" 2>&1 || { cat "$work/$name.log"; exit 1; }
done
/usr/bin/python3 - "$work" <<'PY'
import json, sys
d = sys.argv[1]
runs = {s: json.load(open(f"{d}/{s}/summary.json")) for s in ["sft", "dpo", "sequential", "mix", "alright", "maxright", "maxright_k1"]}
sft, dpo = runs["sft"]["seconds_per_step"], runs["dpo"]["seconds_per_step"]
mem = runs["dpo"]["peak_memory_mib"]
for s, r in runs.items():
    t = r["seconds_per_step"]
    print(f"{s:11s} {t:7.3f}  {t / sft:10.2f}x  {t / dpo:10.2f}x  {r['peak_memory_mib']:8.0f}  {100 * (r['peak_memory_mib'] / mem - 1):+9.1f}%   {r['sft_updates']}/{r['dpo_updates']}")
print("(lambda = 0.5; maxright: both losses re-evaluated by forward passes every k = 10 steps, maxright_k1: every step; ideal values 0)")
PY
