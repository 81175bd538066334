#!/usr/bin/env bash
# The CUDA backend's checks on a GPU machine, in one run planned to take under 8 minutes (each step has its own
# timeout), ending with one summary table:
#   1. the CUDA tests: the op table on the GPU against the f64 CPU reference, training steps against the CPU
#      backend, determinism and exact resume, the out-of-memory error (tests/test_cuda_backend.cpp);
#   2. interop with transformers and peft: a checkpoint and a LoRA adapter Tandem trained on the GPU load there
#      with the same logits, and a model transformers saved loads in Tandem with the same logits
#      (scripts/hf_interop_check.py, tools/dump_logits.cpp);
#   3. the bench: Tandem (bench/bench_gpu_step.cpp) and PyTorch eager with HF transformers
#      (bench/torch_step_bench.py), the same shapes and batch, SFT and DPO steps on Qwen3-0.6B and Llama-3.2-1B
#      shapes at 8 x 1024 tokens: tokens/s, ratio, MFU, peak memory.
# Prepare here with scripts/device_bundle.sh (the build travels: that machine lacks Tandem's Debian packages), then
# run there from the repository root, carrying .device. Logs and the JSON results go to $OUT (or .device/out).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${OUT:-$repo/.device/out}
mkdir -p "$out"
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start ))s; }
summary="$out/summary.txt"
: > "$summary"
row() { printf '%-58s %s\n' "$1" "$2" | tee -a "$summary"; }

# The build's paths are absolute (the tests find the binary through it): give this checkout the path it was built in.
[ -f .device/bundle.tar.xz ] || { echo "no .device/bundle.tar.xz: run scripts/device_bundle.sh here first"; exit 2; }
tar -xJf .device/bundle.tar.xz
built_in=$(strings build-device/tandem_tests | grep -m1 -o '/[^ ]*/build-device/tandem$' | sed 's|/build-device/tandem$||')
if [ -n "$built_in" ] && [ "$built_in" != "$repo" ]; then mkdir -p "$(dirname "$built_in")"; ln -sfn "$repo" "$built_in"; fi
cudalib=$(dirname "$(find /usr/local/cuda*/ /usr/lib /opt -name 'libcublasLt.so.13*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH="$repo/.device/lib:$cudalib:${LD_LIBRARY_PATH:-}"
bin=$repo/build-device
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
row "GPU" "$(head -1 "$out/gpu.txt")"
row "Tandem build" "$("$bin/tandem" --version | head -1)"

# 1. Tests (the CUDA suite, the op table on every backend, the device key).
filter='CudaBackend.*:BackendOpsOnCuda.*:AllOps/BackendOps.MatchesF64Reference/*:DeviceKey.*'
timeout 170 "$bin/tandem_tests" --gtest_filter="$filter" --gtest_output="xml:$out/cuda_tests.xml" > "$out/cuda_tests.log" 2>&1
status=$?
passed=$(grep -c '^\[       OK \]' "$out/cuda_tests.log"); failed=$(grep -c '^\[  FAILED  \].*(' "$out/cuda_tests.log")
skipped=$(grep -c '^\[  SKIPPED \]' "$out/cuda_tests.log")
row "CUDA tests (exit $status, $(elapsed))" "$passed passed, $failed failed, $skipped skipped"
grep '^\[  FAILED  \].*(' "$out/cuda_tests.log" | head -20 | sed 's/^/    /' | tee -a "$summary"

# 2. Interop with transformers and peft.
work=$(mktemp -d)
interop() {  # name, command...
  local name=$1; shift
  if timeout 90 "$@" > "$out/interop_$name.log" 2>&1; then row "interop: $name" "pass ($(tail -1 "$out/interop_$name.log"))"
  else row "interop: $name" "FAIL (see interop_$name.log: $(tail -1 "$out/interop_$name.log"))"; fi
}
"$bin/tandem" toy-task "$work/toy" > /dev/null
echo '[[1, 5, 9, 3, 4, 2, 7, 8], [2, 2, 6, 1, 3, 9, 4, 5]]' > "$work/ids.json"
common=(max_steps=3 device='"cuda"' save_steps=3 progress=false strategy='"mix"')
# (a) a full fine-tune on the GPU, (b) a LoRA run on top of it: transformers and peft load what Tandem saved.
timeout 120 "$bin/tandem" train "$work/toy/train.toml" "${common[@]}" output_dir="\"$work/full\"" > "$out/train_full.log" 2>&1
timeout 120 "$bin/tandem" train "$work/toy/train.toml" "${common[@]}" use_peft=true lora_r=4 model_config='""' \
  model_name_or_path="\"$work/full/checkpoint-3\"" output_dir="\"$work/lora\"" > "$out/train_lora.log" 2>&1
"$bin/dump_logits" "$work/full/checkpoint-3" --ids "$work/ids.json" --out "$work/full.safetensors" --device cuda \
  > /dev/null 2>> "$out/interop_model.log"
interop tandem_model_in_transformers python3 scripts/hf_interop_check.py check-model "$work/full/checkpoint-3" \
  --tandem-logits "$work/full.safetensors" --input-ids "$work/ids.json"
"$bin/dump_logits" "$work/lora/checkpoint-3" --base "$work/full/checkpoint-3" --ids "$work/ids.json" \
  --out "$work/lora.safetensors" --device cuda > /dev/null 2>> "$out/interop_adapter.log"
interop tandem_adapter_in_peft python3 scripts/hf_interop_check.py check-adapter "$work/full/checkpoint-3" \
  "$work/lora/checkpoint-3" --tandem-logits "$work/lora.safetensors" --input-ids "$work/ids.json"
# (c) models (and an adapter) transformers and peft saved: Tandem loads them with the same logits.
for arch in qwen3 llama3_scaled_tied_bias gpt_neox_parallel; do
  python3 scripts/hf_interop_check.py save-model "$work/hf_$arch" --arch "$arch" --adapter --device cuda \
    > "$out/save_$arch.log" 2>&1
  "$bin/dump_logits" "$work/hf_$arch" --ids "$work/hf_$arch/input_ids.json" --out "$work/hf_$arch.t.safetensors" \
    --device cuda > /dev/null 2>> "$out/interop_load_$arch.log"
  interop "transformers_${arch}_in_tandem" python3 scripts/hf_interop_check.py compare \
    "$work/hf_$arch/hf_logits.safetensors" "$work/hf_$arch.t.safetensors" --input-ids "$work/hf_$arch/input_ids.json"
  "$bin/dump_logits" "$work/hf_$arch/adapter" --base "$work/hf_$arch" --ids "$work/hf_$arch/input_ids.json" \
    --out "$work/hf_$arch.a.safetensors" --device cuda > /dev/null 2>> "$out/interop_load_$arch.log"
  interop "peft_${arch}_in_tandem" python3 scripts/hf_interop_check.py compare \
    "$work/hf_$arch/hf_logits_adapter.safetensors" "$work/hf_$arch.a.safetensors" \
    --input-ids "$work/hf_$arch/input_ids.json"
done
row "after interop" "$(elapsed)"

# 3. Bench, interleaved: Tandem then PyTorch for each model and objective.
bench="$out/bench.jsonl"
: > "$bench"
for model in qwen3-0.6b llama-3.2-1b; do
  for objective in sft dpo; do
    timeout 75 "$bin/bench_gpu_step" --model $model --objective $objective --batch 8 --seq 1024 --steps 10 \
      >> "$bench" 2>> "$out/bench.log" || echo "{\"impl\": \"tandem\", \"model\": \"$model\", \"objective\": \"$objective\", \"error\": true}" >> "$bench"
    timeout 90 python3 bench/torch_step_bench.py --models $model --objectives $objective --batch 8 --seq 1024 \
      --steps 10 >> "$bench" 2>> "$out/bench.log" || echo "{\"impl\": \"transformers\", \"model\": \"$model\", \"objective\": \"$objective\", \"error\": true}" >> "$bench"
  done
done
python3 - "$bench" <<'PY' | tee -a "$summary"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
def get(impl, m, o):
    impls = ("transformers", "plain") if impl == "pytorch" else (impl,)
    return next((r for r in rows if r.get("impl") in impls and r.get("model") == m and r.get("objective") == o), {})
print("bench: SFT 8 rows x 1024 tokens, DPO 8 pairs (16 rows) x 1024 tokens, bf16, AdamW, median of 10 steps")
print(f"{'':24} {'Tandem tok/s':>12} {'PyTorch tok/s':>13} {'ratio':>6} {'MFU T/P':>11} {'peak MiB T/P':>15}")
for m in ("qwen3-0.6b", "llama-3.2-1b"):
    for o in ("sft", "dpo"):
        t, p = get("tandem", m, o), get("pytorch", m, o)
        tt, pt = t.get("tokens_per_s"), p.get("tokens_per_s")
        ratio = f"{tt / pt:.2f}" if tt and pt else "-"
        mfu = f"{t.get('mfu', 0):.2f}/{p.get('mfu', 0):.2f}" if tt and pt else "-"
        mem = f"{t.get('peak_memory_mib') or 0:.0f}/{(p.get('peak_mem_gib') or 0) * 1024:.0f}" if tt and pt else "-"
        print(f"{m + ' ' + o:24} {tt or 'error':>12} {pt or 'error':>13} {ratio:>6} {mfu:>11} {mem:>15}")
print("targets: ratio >= 1.3, Tandem MFU >= 0.40, Tandem peak memory <= PyTorch's")
PY
row "total" "$(elapsed)"
echo; echo "summary ($summary):"; cat "$summary"
