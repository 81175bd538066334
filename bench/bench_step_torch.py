#!/usr/bin/env python3
"""The same training step as bench_step.cpp in PyTorch eager (the Hugging Face modeling code path: full
[tokens x vocab] logits, F.cross_entropy, torch.optim.AdamW), timed on the same machine; --bf16 runs it under CPU
autocast(bfloat16) with fp32 weights, as TRL's bf16=True does. Prints one JSON line with peak resident memory."""
import argparse
import json
import contextlib
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "reference"))
from make_reference import forward, make_weights  # noqa: E402  the reference model doubles as the peer


def main():
    ap = argparse.ArgumentParser()
    for k, v in dict(hidden=512, layers=6, heads=8, kv_heads=0, head_dim=0, ffn=1376, vocab=32000, batch=4, seq=256,
                     steps=5, threads=os.cpu_count()).items():
        ap.add_argument("--" + k.replace("_", "-"), type=int, default=v)
    for flag in ("tied", "qk-norm", "bf16"):
        ap.add_argument("--" + flag, action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = dict(model_type="qwen3" if a.qk_norm else "llama", vocab_size=a.vocab, hidden_size=a.hidden,
               intermediate_size=a.ffn, num_hidden_layers=a.layers, num_attention_heads=a.heads,
               num_key_value_heads=a.kv_heads or a.heads, rms_norm_eps=1e-6, rope_theta=10000.0,
               tie_word_embeddings=a.tied)
    if a.head_dim:
        cfg["head_dim"] = a.head_dim
    gen = torch.Generator().manual_seed(0)
    w = {k: v.requires_grad_(True) for k, v in make_weights(cfg, gen).items()}
    opt = torch.optim.AdamW(list(w.values()), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=gen)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16) if a.bf16 else contextlib.nullcontext():
            logits = forward(cfg, w, ids)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].float().reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(w.values()), 1.0)
        opt.step()

    step()  # warm-up
    t0, cpu0 = time.perf_counter(), time.thread_time()
    for _ in range(a.steps):
        step()
    secs = (time.perf_counter() - t0) / a.steps
    cpu_secs = (time.thread_time() - cpu0) / a.steps
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": "pytorch", "dtype": "bf16" if a.bf16 else "f32", "version": torch.__version__,
                      "threads": torch.get_num_threads(), "seconds_per_step": round(secs, 4),
                      "main_thread_cpu_s": round(cpu_secs, 4), "tokens_per_s": round(a.batch * a.seq / secs, 1),
                      "peak_rss_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    main()
