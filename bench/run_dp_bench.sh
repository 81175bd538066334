#!/usr/bin/env bash
# Data-parallel step on the bench model (bench/run_bench.sh's Llama: d=512, L=6, H=8, ffn=1376, V=32000; SFT on
# 4 x 256 tokens per rank): one rank alone, two independent one-rank runs at once (the same compute on two busy
# cores, no communication), two ranks under mpirun, and two ranks with zero_stage = 1; one OpenMP thread per rank,
# interleaved REPS times. Prints each run's median step time (the first step, with its allocations, left out) and
# the two-rank runs' gradient bytes summed per step, the time spent in the sums, and the part of it the backward
# did not hide; then medians over runs as one JSON line, with rank 0's peak memory with and without zero_stage = 1.
# usage: bench/run_dp_bench.sh [BUILD_DIR] [REPS] [STEPS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
reps=${2:-3}
steps=${3:-6}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cat > "$work/config.json" <<JSON
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 512, "intermediate_size": 1376,
 "num_attention_heads": 8, "num_key_value_heads": 8, "num_hidden_layers": 6, "vocab_size": 32000,
 "max_position_embeddings": 512, "tie_word_embeddings": false}
JSON
/usr/bin/python3 - "$work/sft.jsonl" <<'PY'
import json, random, sys
random.seed(0)
with open(sys.argv[1], "w") as f:
    for _ in range(64):  # 256 tokens each: a 1-token prompt and a 255-token completion, all scored but the first
        ids = [random.randrange(32000) for _ in range(256)]
        f.write(json.dumps({"prompt_ids": ids[:1], "completion_ids": ids[1:]}) + "\n")
PY
cat > "$work/train.toml" <<TOML
model_config = "$work/config.json"
sft_dataset = "$work/sft.jsonl"
strategy = "sft"
max_steps = $steps
per_device_train_batch_size = 4
max_length = 256
max_prompt_length = 8
eval_max_examples = 1
learning_rate = 1e-4
save_final_checkpoint = false
progress = false
TOML

# One rank runs without mpirun, which would pin it to core 0 (Open MPI binds ranks to cores): two such runs at once
# would share one core.
run() {  # run RANKS OUT [key=value ...]
  local ranks=$1 out=$2
  shift 2
  local launch=("mpirun" "--oversubscribe" "-np" "$ranks")
  ((ranks > 1)) || launch=()
  "${launch[@]}" "$build/tandem" train "$work/train.toml" output_dir="$out" "$@" > /dev/null 2> "$out.err" ||
    { cat "$out.err"; exit 1; }
}
echo "bench model, SFT 4 x 256 tokens per rank, $steps steps, 1 OpenMP thread per rank, $reps interleaved reps" >&2
for ((r = 0; r < reps; ++r)); do
  run 1 "$work/one_$r"
  # Two independent one-rank runs at once: the compute of two busy cores, without any communication.
  run 1 "$work/pair_a_$r" & run 1 "$work/pair_b_$r" & wait
  run 2 "$work/two_$r"
  run 2 "$work/zero_$r" zero_stage=1
done
/usr/bin/python3 - "$work" "$reps" <<'PY'
import json, statistics, sys
work, reps = sys.argv[1], int(sys.argv[2])
def steps(run):
    lines = [json.loads(l) for l in open(f"{work}/{run}/metrics.jsonl")]
    return [l for l in lines if "objective" in l][1:]  # step lines, the first one left out
one, two, one_cpu, two_cpu, pair = [], [], [], [], []
for r in range(reps):
    a, b = steps(f"one_{r}"), steps(f"two_{r}")
    pair.append(statistics.median(l["step_seconds"] for l in steps(f"pair_a_{r}") + steps(f"pair_b_{r}")))
    one.append(statistics.median(l["step_seconds"] for l in a))
    two.append(statistics.median(l["step_seconds"] for l in b))
    one_cpu.append(statistics.median(l["step_cpu_seconds"] for l in a))
    two_cpu.append(statistics.median(l["step_cpu_seconds"] for l in b))
    comm = statistics.median(l["comm_seconds"] for l in b)
    wait = statistics.median(l["comm_wait_seconds"] for l in b)
    print(f"rep {r}: 1 rank {one[-1]:.3f} s/step ({one_cpu[-1]:.3f} CPU s), two 1-rank runs at once "
          f"{pair[-1]:.3f} s/step, 2 ranks {two[-1]:.3f} s/step "
          f"({two_cpu[-1]:.3f} CPU s); sums {b[0]['allreduce_bytes'] / 2**20:.1f} MiB in {b[0]['allreduce_buckets']} "
          f"buckets, {comm * 1e3:.1f} ms in reduction calls, {wait * 1e3:.1f} ms exposed")
b = [l for r in range(reps) for l in steps(f"two_{r}")]
summary = {
    "model": "llama d=512 L=6 H=8 ffn=1376 V=32000 untied, fp32", "tokens_per_rank": 1024, "ranks": 2,
    "step_seconds_1rank": statistics.median(one), "step_seconds_2ranks": statistics.median(two),
    "allreduce_bytes": b[0]["allreduce_bytes"], "allreduce_buckets": b[0]["allreduce_buckets"],
    "comm_seconds": statistics.median(l["comm_seconds"] for l in b),
    "comm_wait_seconds": statistics.median(l["comm_wait_seconds"] for l in b),
}
summary["efficiency_2ranks"] = summary["step_seconds_1rank"] / summary["step_seconds_2ranks"]
# Against the same compute on two busy cores: what communication itself costs.
summary["step_seconds_two_1rank_runs_at_once"] = statistics.median(pair)
summary["efficiency_2ranks_vs_busy_cores"] = statistics.median(pair) / summary["step_seconds_2ranks"]
summary["cpu_seconds_1rank"] = statistics.median(one_cpu)  # rank 0's main thread, the only thread here
summary["cpu_seconds_2ranks"] = statistics.median(two_cpu)
# Rank 0's peak resident memory with and without ZeRO-1, and the optimizer state each rank kept.
peak = lambda run: max(l["peak_memory_mib"] for l in steps(run))
summary["peak_mib_rank0"] = statistics.median(peak(f"two_{r}") for r in range(reps))
summary["peak_mib_rank0_zero1"] = statistics.median(peak(f"zero_{r}") for r in range(reps))
dp = json.load(open(f"{work}/zero_0/summary.json"))["data_parallel"]
summary["optimizer_state_mib_per_rank_zero1"] = dp["optimizer_state_bytes_per_rank"] / 2**20
summary["optimizer_state_mib_unsharded"] = dp["optimizer_state_bytes_unsharded"] / 2**20
summary["step_seconds_2ranks_zero1"] = statistics.median(
    statistics.median(l["step_seconds"] for l in steps(f"zero_{r}")) for r in range(reps))
print(json.dumps(summary))
PY
