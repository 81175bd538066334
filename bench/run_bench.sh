#!/usr/bin/env bash
# Training-step throughput of Tandem against PyTorch eager, same model, same machine, same run.
# usage: bench/run_bench.sh [BUILD_DIR] [model options, e.g. --hidden 512 --layers 6 --vocab 32000 --seq 256]
set -euo pipefail
build=${1:-build}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
threads=$(nproc)
echo "model: d=512 L=6 H=8 ffn=1376 V=32000, 4x256 tokens unless overridden ($*); $threads threads"
ours=$(OMP_NUM_THREADS=$threads "$build/bench_step" "$@")
peer=$(/usr/bin/python3 "$here/bench_step_torch.py" --threads "$threads" "$@")
echo "$ours"
echo "$peer"
/usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"tandem  {ours['tokens_per_s']:9.1f} tok/s  {ours['gflops']:6.1f} GFLOP/s  ({ours['seconds_per_step']:.3f} s/step)")
print(f"pytorch {peer['tokens_per_s']:9.1f} tok/s  ({peer['seconds_per_step']:.3f} s/step, torch {peer['version']})")
print(f"ratio   {ours['tokens_per_s'] / peer['tokens_per_s']:.2f}x PyTorch eager tokens/s")
print(f"gemm    {ours['gemm']}")
PY
