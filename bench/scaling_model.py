#!/usr/bin/env python3
"""Data-parallel scaling model: projected step time and efficiency at N GPUs from compute per step and the cost of
the gradient allreduce. A projection from stated assumptions, not a measurement.

  compute per step   = 6 * P_matmul * tokens / achieved FLOP/s        (dense decoder; ignores attention's T^2 term)
  gradient bytes     = P * bytes per gradient (2: bf16, 4: f32)
  ring allreduce     = 2(N-1)/N * bytes / busbw + 2(N-1) * alpha       (nccl-tests' bus bandwidth)
  hierarchical (N > g GPUs per node, M = N/g nodes): reduce-scatter inside the node over NVLink, ring allreduce of
      the 1/g shard across nodes (each GPU on its own NIC: g rings side by side), allgather inside the node:
      2(g-1)/g * bytes / bw_nvlink + 2(g-1) alpha_nvlink + 2(M-1)/M * (bytes/g) / bw_ib + 2(M-1) alpha_ib
  overlap            = buckets are summed while backward (2/3 of compute) runs; what is exposed is
                       max(last bucket's allreduce, allreduce - 2/3 compute)
  efficiency         = compute / (compute + exposed communication)

--measured FILE reads bench/run_allreduce_bench.sh's JSON lines (bus bandwidth and latency of Comm::allreduce_sum,
the bench model's gradient sizes and step) and prints the model's 2-rank CPU projection next to the measured step.
--check simulates the ring and hierarchical allreduces element by element and checks both the sums and the bytes
each rank sends against the formulas above. Plain python3, standard library only.
"""
import argparse
import json
import sys

# Llama-shaped models (Hugging Face config.json of meta-llama/Llama-3.2-1B and Llama-3.1-8B).
MODELS = {
    "1B": dict(hidden=2048, layers=16, heads=32, kv_heads=8, head_dim=64, ffn=8192, vocab=128256, tied=True),
    "8B": dict(hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256, tied=False),
}


def llama_params(m):
    """(all parameters, parameters in matmuls): the input embedding lookup is no matmul unless tied to the head."""
    d, kv = m["hidden"], m["kv_heads"] * m["head_dim"]
    q = m["heads"] * m["head_dim"]
    layer = d * q + 2 * d * kv + q * d + 3 * d * m["ffn"] + 2 * d  # q, k, v, o; gate, up, down; two RMSNorms
    embed = m["vocab"] * d
    total = embed * (1 if m["tied"] else 2) + m["layers"] * layer + d
    return total, total - (0 if m["tied"] else embed)


def ring_allreduce_s(nbytes, n, busbw, alpha):
    if n <= 1:
        return 0.0
    return 2 * (n - 1) / n * nbytes / busbw + 2 * (n - 1) * alpha


def allreduce_s(nbytes, n, a):
    """Within one node a ring over NVLink; across nodes the hierarchical allreduce."""
    g = a.gpus_per_node
    if n <= g:
        return ring_allreduce_s(nbytes, n, a.nvlink_busbw, a.alpha_nvlink)
    assert n % g == 0, f"{n} GPUs is not a whole number of {g}-GPU nodes"
    return ring_allreduce_s(nbytes, g, a.nvlink_busbw, a.alpha_nvlink) + ring_allreduce_s(
        nbytes / g, n // g, a.ib_busbw, a.alpha_ib)


def exposed_s(comm, last_bucket, compute, overlap):
    """Communication left on the critical path when buckets overlap backward (2/3 of the compute)."""
    if not overlap:
        return comm
    return max(min(last_bucket, comm), comm - 2.0 / 3.0 * compute)


def project(a):
    rows = []
    for name in a.models:
        total, matmul = llama_params(MODELS[name])
        compute = 6.0 * matmul * a.tokens_per_gpu * a.accum / a.flops_per_gpu
        grad_bytes = total * a.grad_bytes_per_param
        bucket = min(a.bucket_mb * 1e6, grad_bytes)
        for n in a.gpus:
            comm = allreduce_s(grad_bytes, n, a)
            last = allreduce_s(bucket, n, a)
            plain, hidden = compute + comm, compute + exposed_s(comm, last, compute, True)
            rows.append((name, total, grad_bytes, n, compute, comm, plain, compute / plain, hidden, compute / hidden))
    return rows


def print_projection(a):
    print("PROJECTION (not a measurement). Assumptions:")
    print(f"  GPU: H100/H200 SXM, bf16 dense peak 989 TFLOP/s; achieved {a.flops_per_gpu / 1e12:.0f} TFLOP/s per GPU "
          f"(~{a.flops_per_gpu / 989e12:.0%} MFU, typical of a well-tuned dense decoder step)")
    print(f"  tokens per GPU per optimizer step: {a.tokens_per_gpu} x {a.accum} accumulation micro-step(s); compute "
          "= 6 x matmul parameters x tokens / FLOP/s (ignores attention's quadratic term and the optimizer step)")
    dtype = "bf16" if a.grad_bytes_per_param == 2 else "f32"
    print(f"  gradients: {a.grad_bytes_per_param} bytes per parameter ({dtype}"
          "), one allreduce of all of them per optimizer step (plain data parallelism, no ZeRO/FSDP)")
    print(f"  inside a node ({a.gpus_per_node} GPUs): NVLink 4, 900 GB/s bidirectional = 450 GB/s per direction per "
          f"GPU; nccl-tests allreduce busbw on 8xH100 is reported at ~360-480 GB/s; used {a.nvlink_busbw / 1e9:.0f} "
          f"GB/s (the low end: ring without NVLink SHARP, sharing the GPU with compute), alpha "
          f"{a.alpha_nvlink * 1e6:.1f} us per ring step")
    print(f"  across nodes: 400 Gb/s InfiniBand NDR per GPU = 50 GB/s line rate; used {a.ib_busbw / 1e9:.0f} GB/s "
          f"(~90% of line rate), alpha {a.alpha_ib * 1e6:.1f} us per ring step; hierarchical allreduce (NVLink "
          "reduce-scatter, one ring per NIC rail across nodes, NVLink allgather)")
    print(f"  overlap: gradient buckets of {a.bucket_mb:.0f} MB are summed while backward (2/3 of compute) runs; the "
          "last bucket is always exposed; no slowdown of compute by the communication kernels is modelled")
    print()
    print(f"{'model':>5} {'params':>7} {'grad GB':>8} {'GPUs':>5} {'compute s':>10} {'allreduce s':>12} "
          f"{'step s':>8} {'eff':>6} {'step s (overlap)':>17} {'eff (overlap)':>14}")
    for name, total, grad_bytes, n, compute, comm, plain, eff, hidden, eff_hidden in project(a):
        print(f"{name:>5} {total / 1e9:6.2f}B {grad_bytes / 1e9:8.2f} {n:5d} {compute:10.3f} {comm:12.4f} "
              f"{plain:8.3f} {eff:6.1%} {hidden:17.3f} {eff_hidden:14.1%}")


def print_measured(path):
    """The model priced with this machine's measured bus bandwidth and latency, against the measured step."""
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    sweep = [r for r in rows if r["op"] == "allreduce_f32" and r["path"] == "nonblocking"]
    latency = [r for r in rows if r["op"] == "latency"]
    steps = [r for r in rows if r["op"] == "dp_step"]
    if not (sweep and latency and steps):
        sys.exit(f"{path}: needs allreduce_f32 (nonblocking), latency and dp_step lines (bench/run_allreduce_bench.sh)")
    largest = max(sweep, key=lambda r: r["bytes"])
    busbw, alpha, step = largest["busbw_Bps"], latency[0]["alpha_s"], steps[0]
    n = step["ranks"]
    comm = sum(ring_allreduce_s(b, n, busbw, alpha) for b in step["grad_tensor_bytes"])
    print()
    print(f"MEASURED on this machine ({path}): {n} ranks ({step['backend']}, {step['threads']} thread each), bus "
          f"bandwidth {busbw / 1e9:.2f} GB/s (largest buffer, {largest['bytes'] >> 20} MiB, non-blocking path, "
          f"median), alpha {alpha * 1e6:.2f} us per ring step")
    print(f"  bench model: {step['parameters'] / 1e6:.1f}M parameters, {step['grad_bytes'] / 1e6:.1f} MB of f32 "
          f"gradients in {step['grad_tensors']} tensors (one allreduce each), {step['tokens_per_rank']} tokens "
          "per rank; the step sums after backward (no overlap), so projected step = compute + allreduce")
    print(f"  {'':28} {'projected':>10} {'measured':>10} {'error':>8}")
    for label, key in (("median", ""), ("min", "_min")):
        compute, measured_comm, measured = step[f"compute{key}_s"], step[f"allreduce{key}_s"], step[f"step{key}_s"]
        projected = compute + comm  # bench_dp_step sums after backward: no overlap
        print(f"  {'gradient allreduce s (' + label + ')':28} {comm:10.4f} {measured_comm:10.4f} "
              f"{(comm - measured_comm) / measured_comm:+8.1%}")
        print(f"  {'step s (' + label + ' compute)':28} {projected:10.4f} {measured:10.4f} "
              f"{(projected - measured) / measured:+8.1%}")
        print(f"  {'efficiency (' + label + ')':28} {compute / projected:10.1%} {compute / measured:10.1%}")


# --check: the formulas against an element-by-element simulation of the algorithms.
def simulate_ring(data, phases=("reduce-scatter", "allgather")):
    """Ring allreduce of equal-length vectors (length a multiple of N): reduce-scatter then allgather, N-1 steps each.
    After the reduce-scatter, rank r holds the full sum of chunk (r + 1) % N, where the allgather starts from.
    Returns (the vectors after, elements each rank sent, steps)."""
    n, size = len(data), len(data[0])
    chunk = size // n
    buf = [list(v) for v in data]
    sent = [0] * n
    steps = 0
    for phase in phases:
        for s in range(n - 1):
            steps += 1
            # rank r sends chunk (r - s) (reduce-scatter) or (r + 1 - s) (allgather) to rank r + 1
            msgs = []
            for r in range(n):
                c = (r - s) % n if phase == "reduce-scatter" else (r + 1 - s) % n
                msgs.append((r, c, buf[r][c * chunk:(c + 1) * chunk]))
            for r, c, payload in msgs:
                dst = buf[(r + 1) % n]
                for i, x in enumerate(payload):
                    dst[c * chunk + i] = dst[c * chunk + i] + x if phase == "reduce-scatter" else x
                sent[r] += len(payload)
    return buf, sent, steps


def simulate_hierarchical(data, g):
    """Ring reduce-scatter inside each node, a ring allreduce per chunk across nodes (local ranks holding the same
    chunk, one NIC rail each), ring allgather inside each node. Returns (the vectors after, elements each rank sent
    inside its node, elements each rank sent across nodes)."""
    n, size = len(data), len(data[0])
    nodes, chunk = n // g, size // g
    buf = [list(v) for v in data]
    intra, inter = [0] * n, [0] * n

    def inside_nodes(phase):
        for node in range(nodes):
            ranks = range(node * g, (node + 1) * g)
            out, sent, _ = simulate_ring([buf[r] for r in ranks], phases=(phase,))
            for r, v, k in zip(ranks, out, sent):
                buf[r] = v
                intra[r] += k

    inside_nodes("reduce-scatter")
    for c in range(g):
        members = [node * g + l for node in range(nodes) for l in range(g) if (l + 1) % g == c]
        out, sent, _ = simulate_ring([buf[r][c * chunk:(c + 1) * chunk] for r in members])
        for r, v, k in zip(members, out, sent):
            buf[r][c * chunk:(c + 1) * chunk] = v
            inter[r] += k
    inside_nodes("allgather")
    return buf, intra, inter


def check():
    for n in (2, 3, 4, 8):
        size = n * 5
        data = [[(r + 1) * (i + 1) for i in range(size)] for r in range(n)]
        out, sent, steps = simulate_ring(data)
        want = [sum(v[i] for v in data) for i in range(size)]
        assert all(o == want for o in out), f"ring allreduce over {n} ranks: wrong sums"
        assert steps == 2 * (n - 1), f"ring over {n}: {steps} steps"
        assert all(s == 2 * (n - 1) / n * size for s in sent), f"ring over {n}: sent {sent}"
        # the formula: with busbw 1 element/s and alpha 0 the time is what each rank sends
        assert abs(ring_allreduce_s(size, n, 1.0, 0.0) - sent[0]) < 1e-9
    for g, nodes in ((2, 2), (4, 3), (8, 2)):
        n, size = g * nodes, g * nodes * 3
        data = [[(r + 2) * (i + 1) % 11 for i in range(size)] for r in range(n)]
        out, intra, inter = simulate_hierarchical(data, g)
        want = [sum(v[i] for v in data) for i in range(size)]
        assert all(o == want for o in out), f"hierarchical allreduce {nodes}x{g}: wrong sums"
        a = argparse.Namespace(gpus_per_node=g, nvlink_busbw=1.0, ib_busbw=1e30, alpha_nvlink=0.0, alpha_ib=0.0)
        assert all(abs(x - allreduce_s(size, n, a)) < 1e-9 for x in intra), f"{nodes}x{g}: NVLink bytes {intra}"
        a = argparse.Namespace(gpus_per_node=g, nvlink_busbw=1e30, ib_busbw=1.0, alpha_nvlink=0.0, alpha_ib=0.0)
        assert all(abs(x - allreduce_s(size, n, a)) < 1e-9 for x in inter), f"{nodes}x{g}: IB bytes {inter}"
    total, _ = llama_params(MODELS["1B"])
    assert abs(total - 1_235_814_400) < 1, total  # Llama-3.2-1B's published parameter count
    total, _ = llama_params(MODELS["8B"])
    assert abs(total - 8_030_261_248) < 1, total  # Llama-3.1-8B's
    print("scaling_model --check: ring and hierarchical allreduce simulations match the formulas; Llama sizes match")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["1B", "8B"], choices=sorted(MODELS))
    p.add_argument("--gpus", nargs="+", type=int, default=[8, 64, 512])
    p.add_argument("--tokens-per-gpu", type=int, default=8192, help="per micro-step (default 4 x 2048)")
    p.add_argument("--accum", type=int, default=1, help="gradient accumulation micro-steps per allreduce")
    p.add_argument("--flops-per-gpu", type=float, default=400e12, help="achieved FLOP/s per GPU")
    p.add_argument("--grad-bytes-per-param", type=int, default=2, choices=[2, 4])
    p.add_argument("--gpus-per-node", type=int, default=8)
    p.add_argument("--nvlink-busbw", type=float, default=360e9, help="bytes/s")
    p.add_argument("--ib-busbw", type=float, default=45e9, help="bytes/s per GPU")
    p.add_argument("--alpha-nvlink", type=float, default=3e-6, help="seconds per ring step")
    p.add_argument("--alpha-ib", type=float, default=8e-6, help="seconds per ring step")
    p.add_argument("--bucket-mb", type=float, default=25.0, help="DDP's default bucket_cap_mb")
    p.add_argument("--measured", help="JSON lines from bench/run_allreduce_bench.sh")
    p.add_argument("--check", action="store_true", help="check the formulas by simulation and exit")
    a = p.parse_args()
    if a.check:
        check()
        return
    print_projection(a)
    if a.measured:
        print_measured(a.measured)


if __name__ == "__main__":
    main()
