#!/usr/bin/env bash
# Training-step throughput of Tandem fp32 and bf16 against PyTorch eager fp32 and bf16 autocast: same model, same
# batch, same machine, one run. The four are interleaved (ABCD ABCD ...) REPS times; medians and ratios are printed.
# usage: bench/run_bench.sh [BUILD_DIR] [REPS] [model options, e.g. --hidden 512 --layers 6 --vocab 32000 --seq 256]
set -euo pipefail
build=${1:-build}
reps=${2:-3}
shift 2 || shift $# || true
here=$(cd "$(dirname "$0")" && pwd)
threads=$(nproc)
export OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=passive
echo "model: d=512 L=6 H=8 ffn=1376 V=32000, 4x256 tokens unless overridden ($*); $threads threads, $reps reps"
results=()
for ((r = 0; r < reps; ++r)); do
  results+=("$("$build/bench_step" "$@")")
  results+=("$("$build/bench_step" --bf16 "$@")")
  results+=("$(/usr/bin/python3 "$here/bench_step_torch.py" --threads "$threads" "$@")")
  results+=("$(/usr/bin/python3 "$here/bench_step_torch.py" --threads "$threads" --bf16 "$@")")
done
printf '%s\n' "${results[@]}" | /usr/bin/python3 -c '
import json, statistics, sys
runs = [json.loads(l) for l in sys.stdin if l.strip()]
def med(impl, dtype, key):
    return statistics.median(r[key] for r in runs if r["impl"] == impl and r["dtype"] == dtype)
rows = [(i, d) for i in ("tandem", "pytorch") for d in ("f32", "bf16")]
print(f"{\"\":16} {\"tok/s\":>8} {\"s/step\":>8} {\"cpu s/step\":>10} {\"peak MB\":>8}   (medians of {len(runs) // 4})")
for i, d in rows:
    print(f"{i + \" \" + d:16} {med(i, d, \"tokens_per_s\"):8.1f} {med(i, d, \"seconds_per_step\"):8.3f} "
          f"{med(i, d, \"main_thread_cpu_s\"):10.3f} {med(i, d, \"peak_rss_mb\"):8.0f}")
tok = lambda i, d: med(i, d, "tokens_per_s")
print(f"ratio  tandem f32 / pytorch f32   {tok(\"tandem\", \"f32\") / tok(\"pytorch\", \"f32\"):.2f}x")
print(f"ratio  tandem bf16 / tandem f32   {tok(\"tandem\", \"bf16\") / tok(\"tandem\", \"f32\"):.2f}x")
print(f"ratio  tandem bf16 / pytorch bf16 {tok(\"tandem\", \"bf16\") / tok(\"pytorch\", \"bf16\"):.2f}x")
print("gemm  ", next(r["gemm"] for r in runs if r["impl"] == "tandem"))
'
