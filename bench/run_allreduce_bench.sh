#!/usr/bin/env bash
# The data-parallel benchmarks under mpirun: bench_allreduce (Comm::allreduce_sum, 4 KiB to 256 MiB, blocking and
# non-blocking) and bench_dp_step (the bench model's step: compute, gradient allreduce, both). One thread per rank;
# --oversubscribe lets N ranks share fewer cores (2 here), and the root-allow variables let mpirun run as root in
# containers. The JSON lines are kept in BUILD/allreduce_bench.jsonl for bench/scaling_model.py --measured.
# usage: bench/run_allreduce_bench.sh [BUILD_DIR] [RANKS] [REPS]
set -euo pipefail
build=${1:-build}
ranks=${2:-2}
reps=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
for exe in bench_allreduce bench_dp_step; do
  [[ -x "$build/$exe" ]] || { echo "$build/$exe not built (it needs MPI: apt-get install libopenmpi-dev)" >&2; exit 1; }
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI's allreduce allocates a temporary buffer as large as the message on every call. glibc serves blocks above
# 32 MiB (its largest mmap threshold) with a fresh mmap each time, and touching new pages costs ~0.2 GB/s in this
# VM: 64 MiB sums ran at 0.085 GB/s instead of 1.2. MALLOC_MMAP_MAX_=0 keeps such blocks in the heap, and the trim
# threshold keeps the heap from being handed back (and faulted in again) after each call. Gradient buckets of at
# most 32 MiB never meet this.
mpi=(mpirun --oversubscribe -np "$ranks" -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive
     -x MALLOC_MMAP_MAX_=0 -x MALLOC_TRIM_THRESHOLD_=4294967296)
out="$build/allreduce_bench.jsonl"
"${mpi[@]}" "$build/bench_allreduce" --reps "$reps" | tee "$build/allreduce_bench.txt"
"${mpi[@]}" "$build/bench_dp_step" --steps "$reps" | tee -a "$build/allreduce_bench.txt"
grep '^{' "$build/allreduce_bench.txt" > "$out"
echo "JSON lines: $out"
py=$(command -v python3 || echo /usr/bin/python3)
"$py" "$here/scaling_model.py" --measured "$out"
