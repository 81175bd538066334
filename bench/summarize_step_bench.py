#!/usr/bin/env python3
"""Reads bench_step / bench_step_torch.py JSON lines (stdin) and prints medians per (impl, dtype) and the ratios."""
import json
import statistics
import sys

runs = [json.loads(line) for line in sys.stdin if line.strip()]


def med(impl, dtype, key):
    values = [r[key] for r in runs if r["impl"] == impl and r["dtype"] == dtype]
    return statistics.median(values) if values else float("nan")


print(f"{'':16} {'tok/s':>8} {'s/step':>8} {'cpu s/step':>10} {'peak MB':>8}   (medians of {len(runs) // 4})")
for impl in ("tandem", "pytorch"):
    for dtype in ("f32", "bf16"):
        m = {key: med(impl, dtype, key) for key in ("tokens_per_s", "seconds_per_step", "main_thread_cpu_s", "peak_rss_mb")}
        print(f"{impl + ' ' + dtype:16} {m['tokens_per_s']:8.1f} {m['seconds_per_step']:8.3f}"
              f" {m['main_thread_cpu_s']:10.3f} {m['peak_rss_mb']:8.0f}")


def tok(impl, dtype):
    return med(impl, dtype, "tokens_per_s")


print(f"ratio  tandem f32 / pytorch f32    {tok('tandem', 'f32') / tok('pytorch', 'f32'):.2f}x")
print(f"ratio  tandem bf16 / tandem f32    {tok('tandem', 'bf16') / tok('tandem', 'f32'):.2f}x")
print(f"ratio  tandem bf16 / pytorch bf16  {tok('tandem', 'bf16') / tok('pytorch', 'bf16'):.2f}x")
tandem = [r for r in runs if r["impl"] == "tandem"]
if tandem:
    print("tandem activations (computed):", ", ".join(f"{r['dtype']} {r['activation_mb']:.0f} MB" for r in tandem[:2]))
    print("gemm  ", tandem[0]["gemm"])
