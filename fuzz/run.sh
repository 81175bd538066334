#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD for SECONDS each, starting from the seed corpus in fuzz/corpus/<name>; what it
# learns stays in BUILD/corpus/<name> (kept between runs), crashes in BUILD/findings/, output in BUILD/logs/.
# Exits 1 on the first finding.
# usage: fuzz/run.sh BUILD SECONDS   (run from the repository root: the tokenizer targets read tests/hf's files)
set -euo pipefail
build=$1
seconds=$2
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_NUM_THREADS=1
mkdir -p "$build/findings" "$build/logs"
for target in "$build"/fuzz_*; do
  name=$(basename "$target")
  name=${name#fuzz_}
  mkdir -p "$build/corpus/$name"
  printf '%-18s %3ss ... ' "$name" "$seconds"
  log="$build/logs/$name.log"
  if "$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$build/findings/$name-" "$build/corpus/$name" "fuzz/corpus/$name" > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "ok ($runs inputs)"
  else
    echo "FINDING: see $log and $build/findings/"
    grep -m 5 -E 'ERROR|error:|terminate|uncaught|SUMMARY' "$log" || true
    exit 1
  fi
done
