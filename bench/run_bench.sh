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
printf '%s\n' "${results[@]}" > "$build/bench_step_runs.jsonl"  # the raw runs, kept
/usr/bin/python3 "$here/summarize_step_bench.py" < "$build/bench_step_runs.jsonl"
