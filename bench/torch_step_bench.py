#!/usr/bin/env python3
"""PyTorch's side of the GPU training-step bench: one SFT step and one DPO step of a Qwen3-0.6B-shaped and a
Llama-3.2-1B-shaped model (random weights, the published config.json shapes), timed as Hugging Face trainers run them:
transformers' LlamaForCausalLM / Qwen3ForCausalLM with attn_implementation="sdpa", bf16 weights, full [tokens x vocab]
logits upcast to fp32 for the loss, clip_grad_norm_ and torch.optim.AdamW(fused=True). Prints one JSON line per
(model, objective): the median step time of --steps timed steps after --warmup, tokens/s, peak memory and MFU.

  SFT: cross-entropy over the completion tokens (the first --prompt-frac of each row is prompt, not scored).
  DPO: TRL's sigmoid loss; chosen and rejected (same prompt, different completions) run as one batch of 2 x --batch
       rows, forward and backward; the reference log-probs are computed once before timing, as TRL's
       precompute_ref_log_probs does, so the step is the policy's alone.

Without transformers (as on the CPU build machines) a self-contained plain-torch Llama/Qwen3 with the same
parameter names and the same math (fp32 RMSNorm statistics, fp32 RoPE tables, fp32 softmax) runs instead; the JSON
says which ("impl"). --save-model DIR writes each model's config.json and safetensors (Hugging Face layout, tied
lm_head omitted) to DIR/<model>/ before training, so Tandem can run the very same weights.

  GPU:   python3 bench/torch_step_bench.py --save-model /tmp/bench_models
  local: /usr/bin/python3 bench/torch_step_bench.py --device cpu --tiny
"""
import argparse
import contextlib
import gc
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from ref_common import write_safetensors  # noqa: E402  the references' writer: no safetensors package needed

try:
    import transformers
except ImportError:  # the CPU build machines: the plain-torch model below runs instead
    transformers = None

# The published config.json values of Qwen/Qwen3-0.6B and meta-llama/Llama-3.2-1B (shapes, norms, RoPE, tying).
MODELS = {
    "qwen3-0.6b": dict(
        architectures=["Qwen3ForCausalLM"], model_type="qwen3", vocab_size=151936, hidden_size=1024,
        intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8, head_dim=128,
        max_position_embeddings=40960, rms_norm_eps=1e-6, rope_theta=1000000.0, rope_scaling=None,
        tie_word_embeddings=True, hidden_act="silu", attention_bias=False, attention_dropout=0.0,
        use_sliding_window=False, sliding_window=None, max_window_layers=28, initializer_range=0.02,
        bos_token_id=151643, eos_token_id=151645),
    "llama-3.2-1b": dict(
        architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=128256, hidden_size=2048,
        intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8, head_dim=64,
        max_position_embeddings=131072, rms_norm_eps=1e-5, rope_theta=500000.0,
        rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                          original_max_position_embeddings=8192),
        tie_word_embeddings=True, hidden_act="silu", attention_bias=False, mlp_bias=False, attention_dropout=0.0,
        pretraining_tp=1, initializer_range=0.02, bos_token_id=128000, eos_token_id=128001),
}
# --tiny: the same structure (GQA, head_dim * heads != hidden for Qwen3, llama3 RoPE scaling, tying) at toy sizes.
TINY = {
    "qwen3-0.6b": dict(vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, head_dim=32, max_position_embeddings=256,
                       bos_token_id=1, eos_token_id=2),
    "llama-3.2-1b": dict(vocab_size=512, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=1, head_dim=16, max_position_embeddings=256,
                         bos_token_id=1, eos_token_id=2,
                         rope_scaling=dict(MODELS["llama-3.2-1b"]["rope_scaling"],
                                           original_max_position_embeddings=32)),
}
DTYPES = {"bf16": torch.bfloat16, "f32": torch.float32}


# ---- the plain-torch model: transformers' modeling_llama / modeling_qwen3, same parameter names ----

def rope_inv_freq(cfg):
    """transformers' _compute_default_rope_parameters / _compute_llama3_parameters, in fp32."""
    dim = cfg["head_dim"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv
    factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], \
        rs["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > old / lo, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < old / hi) * ~(wavelen > old / lo)
    return torch.where(medium, smoothed, inv_l)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class RMSNorm(nn.Module):
    """LlamaRMSNorm: statistics in fp32, the normalised input cast back before the weight multiplies it."""

    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, D, bias = cfg["hidden_size"], cfg["head_dim"], cfg.get("attention_bias", False)
        self.H, self.G, self.D = cfg["num_attention_heads"], cfg["num_key_value_heads"], D
        self.q_proj = nn.Linear(d, self.H * D, bias=bias)
        self.k_proj = nn.Linear(d, self.G * D, bias=bias)
        self.v_proj = nn.Linear(d, self.G * D, bias=bias)
        self.o_proj = nn.Linear(self.H * D, d, bias=bias)
        self.qk_norm = cfg["model_type"] == "qwen3"
        if self.qk_norm:  # Qwen3 normalises each head of q and k before RoPE
            self.q_norm = RMSNorm(D, cfg["rms_norm_eps"])
            self.k_norm = RMSNorm(D, cfg["rms_norm_eps"])

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.H, self.D)
        k = self.k_proj(x).view(B, T, self.G, self.D)
        v = self.v_proj(x).view(B, T, self.G, self.D).transpose(1, 2)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(self.H // self.G, dim=1)  # transformers' repeat_kv
        v = v.repeat_interleave(self.H // self.G, dim=1)
        if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0, as attn_implementation="sdpa"
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # eager_attention_forward: softmax in fp32, cast back
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.D)
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(causal, float("-inf"))
            att = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype) @ v
        return self.o_proj(att.transpose(1, 2).reshape(B, T, self.H * self.D))


class Mlp(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, f = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = Mlp(cfg)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, h, cos, sin):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin)
        return h + self.mlp(self.post_attention_layernorm(h))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class PlainCausalLM(nn.Module):
    """Llama / Qwen3 for causal LM with Hugging Face's parameter names; forward(ids) returns logits, as
    model(ids).logits does. A tied head reuses model.embed_tokens.weight and has no lm_head parameter."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Decoder(cfg)
        self.lm_head = None if cfg["tie_word_embeddings"] else nn.Linear(cfg["hidden_size"], cfg["vocab_size"],
                                                                         bias=False)
        std = cfg.get("initializer_range", 0.02)  # LlamaPreTrainedModel._init_weights
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=std)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, ids):
        T = ids.shape[1]
        dtype = self.model.embed_tokens.weight.dtype
        freqs = torch.outer(torch.arange(T, device=ids.device).float(), rope_inv_freq(self.cfg).to(ids.device))
        emb = torch.cat((freqs, freqs), dim=-1)  # fp32 tables, cast to the activations' dtype
        cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
        h = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            h = layer(h, cos, sin)
        h = self.model.norm(h)
        return h @ (self.lm_head.weight if self.lm_head is not None else self.model.embed_tokens.weight).T


# ---- building, saving ----

def dtype_kwarg(dtype):
    """transformers >= 4.56 (and 5.x) names the weights' dtype `dtype`; older releases `torch_dtype`."""
    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def build_model(cfg, impl, dtype, device, seed):
    torch.manual_seed(seed)
    # Built directly on the device where torch can (>= 2.0), so a 1B model does not initialise on the host.
    place = device if hasattr(torch.device, "__enter__") else None
    with torch.device(place) if place is not None else contextlib.nullcontext():
        if impl == "transformers":
            config = transformers.AutoConfig.for_model(**cfg)
            model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="sdpa",
                                                                  **dtype_kwarg(dtype))
            assert type(model).__name__ == cfg["architectures"][0], type(model).__name__
        else:
            model = PlainCausalLM(cfg).to(dtype)
    return model.to(device)


def save_model(model, cfg, impl, dtype, out_dir):
    """config.json + safetensors in the Hugging Face layout. config.json keeps the published keys (rope_theta,
    rope_scaling), which every Tandem and transformers version reads (transformers 5 writes rope_parameters)."""
    os.makedirs(out_dir, exist_ok=True)
    dtype_name = {torch.bfloat16: "bfloat16", torch.float32: "float32"}[dtype]
    written = {}
    if impl == "transformers":
        model.save_pretrained(out_dir)
        with open(os.path.join(out_dir, "config.json")) as f:
            written = json.load(f)
    else:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), dict(model.state_dict()), {"format": "pt"})
    config = dict(written, **{k: v for k, v in cfg.items() if v is not None or k not in written})
    config.update(torch_dtype=dtype_name, dtype=dtype_name)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


# ---- the steps ----

def make_rows(gen, n, seq, vocab, prompt_len, prompt=None):
    """n random rows of seq ids, and their labels: -100 over the prompt (not scored), the ids elsewhere.
    prompt, when given, is the shared first prompt_len ids of every row (DPO's chosen and rejected)."""
    ids = torch.randint(0, vocab, (n, seq), generator=gen)
    if prompt is not None:
        ids[:, :prompt_len] = prompt
    labels = ids.clone()
    labels[:, :prompt_len] = -100
    return ids, labels


def token_logps(logits, labels):
    """log p(token t+1 | ..t) per position in fp32, 0 where the label is -100 (TRL's selective log-softmax;
    cross_entropy keeps the [tokens x vocab] fp32 softmax the only large intermediate)."""
    n, t, v = logits.shape
    return -F.cross_entropy(logits[:, :-1].float().reshape(-1, v), labels[:, 1:].reshape(-1), ignore_index=-100,
                            reduction="none").view(n, t - 1)


def logits_of(model, ids, impl):
    return model(ids, use_cache=False).logits if impl == "transformers" else model(ids)


def update(loss, params, opt, max_grad_norm):
    """The end of every step: backward, clip_grad_norm_, AdamW."""
    loss.backward()
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    opt.step()
    return loss


def sft_step_fn(model, opt, impl, ids, labels, max_grad_norm):
    params = [p for p in model.parameters() if p.requires_grad]

    def step():
        opt.zero_grad(set_to_none=True)
        logits = logits_of(model, ids, impl)
        v = logits.shape[-1]
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, v), labels[:, 1:].reshape(-1), ignore_index=-100)
        return update(loss, params, opt, max_grad_norm)
    return step


def dpo_step_fn(model, opt, impl, ids, labels, beta, max_grad_norm):
    """ids/labels: the chosen rows then the rejected rows. TRL's sigmoid DPO loss on summed completion log-probs."""
    params = [p for p in model.parameters() if p.requires_grad]
    n = ids.shape[0] // 2
    with torch.no_grad():  # the reference model is the initial policy; its log-probs are precomputed, as TRL can
        ref = token_logps(logits_of(model, ids, impl), labels).sum(-1)

    def step():
        opt.zero_grad(set_to_none=True)
        pol = token_logps(logits_of(model, ids, impl), labels).sum(-1)
        margin = (pol[:n] - ref[:n]) - (pol[n:] - ref[n:])
        return update(-F.logsigmoid(beta * margin).mean(), params, opt, max_grad_norm)
    return step


def make_optimizer(model, device, lr):
    """AdamW(fused=True) where this torch has it for the device; the JSON says which ran."""
    params = [p for p in model.parameters() if p.requires_grad]
    kw = dict(lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    try:  # torch < 2.0 has no fused AdamW (TypeError); some devices have none (RuntimeError)
        return torch.optim.AdamW(params, fused=True, **kw), "AdamW(fused=True)"
    except (TypeError, RuntimeError):
        return torch.optim.AdamW(params, **kw), "AdamW(default; fused unavailable)"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step, device, warmup, steps):
    loss = None
    for _ in range(warmup):
        loss = step()
    sync(device)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        sync(device)
        times.append(time.perf_counter() - t0)
    return times, float(loss)


def bench_one(name, cfg, objective, a, impl, device, dtype, save_dir=None):
    """The JSON record of one (model, objective); a fresh model and optimizer each, so peaks are the pair's own."""
    model = build_model(cfg, impl, dtype, device, a.seed)
    if save_dir:
        save_model(model, cfg, impl, dtype, save_dir)
        print(json.dumps({"saved_model": save_dir, "impl": impl}), flush=True)
    if a.save_only:
        return None
    model.train()
    opt, opt_name = make_optimizer(model, device, a.lr)
    gen = torch.Generator().manual_seed(a.seed + 1)
    prompt_len = int(a.seq * a.prompt_frac)
    V = cfg["vocab_size"]
    if objective == "sft":
        ids, labels = make_rows(gen, a.batch, a.seq, V, prompt_len)
        rows = a.batch
    else:
        prompts = torch.randint(0, V, (a.batch, prompt_len), generator=gen)
        chosen, lc = make_rows(gen, a.batch, a.seq, V, prompt_len, prompts)
        rejected, lr_ = make_rows(gen, a.batch, a.seq, V, prompt_len, prompts)
        ids, labels = torch.cat([chosen, rejected]), torch.cat([lc, lr_])
        rows = 2 * a.batch
    ids, labels = ids.to(device), labels.to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    step = (sft_step_fn(model, opt, impl, ids, labels, a.max_grad_norm) if objective == "sft"
            else dpo_step_fn(model, opt, impl, ids, labels, a.beta, a.max_grad_norm))
    times, loss = time_steps(step, device, a.warmup, a.steps)
    secs = statistics.median(times)
    tokens = rows * a.seq
    params = sum(p.numel() for p in model.parameters())  # a tied embedding counted once
    record = {
        "bench": "torch_step", "impl": impl, "model": name, "objective": objective, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "transformers": transformers.__version__ if impl == "transformers" else None,
        "dtype": a.dtype, "attention": "sdpa" if (impl == "transformers" or hasattr(F, "scaled_dot_product_attention"))
        else "eager", "optimizer": opt_name, "max_grad_norm": a.max_grad_norm, "tiny": a.tiny,
        "batch": a.batch, "seq": a.seq, "rows_per_step": rows, "tokens_per_step": tokens,
        "scored_tokens_per_step": rows * (a.seq - prompt_len), "params": params,
        "warmup": a.warmup, "steps": a.steps, "step_s_median": round(secs, 5),
        "step_s_all": [round(t, 5) for t in times], "tokens_per_s": round(tokens / secs, 1),
        "mfu": float(f"{6 * params * tokens / secs / a.peak_flops:.4g}"), "peak_flops": a.peak_flops,
        "mfu_formula": "6 * params * tokens_per_step / step_s_median / peak_flops (attention scores not counted)",
        "final_loss": round(loss, 5),
    }
    if device.type == "cuda":
        record["peak_mem_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
    else:  # the process's peak resident set so far (Linux reports KiB)
        record["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    del model, opt, step
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return record


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated, of: " + ", ".join(MODELS))
    ap.add_argument("--objectives", default="sft,dpo", help="comma-separated, of: sft, dpo")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--impl", default="auto", choices=["auto", "transformers", "plain"],
                    help="auto: transformers when importable, else the plain-torch model")
    ap.add_argument("--dtype", default="bf16", choices=sorted(DTYPES), help="the weights' (and compute) dtype")
    ap.add_argument("--tiny", action="store_true", help="toy shapes and a small batch, for a CPU smoke run")
    ap.add_argument("--batch", type=int, help="rows (SFT) or pairs (DPO) per step; default 8 (2 with --tiny)")
    ap.add_argument("--seq", type=int, help="tokens per row; default 1024 (64 with --tiny)")
    ap.add_argument("--prompt-frac", type=float, default=0.25, help="share of each row that is unscored prompt")
    ap.add_argument("--warmup", type=int, help="untimed steps first; default 3 (1 with --tiny)")
    ap.add_argument("--steps", type=int, help="timed steps; the median is reported; default 10 (2 with --tiny)")
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--beta", type=float, default=0.1, help="DPO beta")
    ap.add_argument("--max-grad-norm", type=float, default=1.0, help="clip_grad_norm_ bound; 0 skips clipping")
    ap.add_argument("--peak-flops", type=float, default=790e12, help="the accelerator's peak FLOP/s, for MFU")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-model", metavar="DIR", help="write DIR/<model>/config.json + safetensors first")
    ap.add_argument("--save-only", action="store_true", help="with --save-model: write the models, time nothing")
    a = ap.parse_args()
    for key, full, tiny in (("batch", 8, 2), ("seq", 1024, 64), ("warmup", 3, 1), ("steps", 10, 2)):
        if getattr(a, key) is None:
            setattr(a, key, tiny if a.tiny else full)
    if a.save_only and not a.save_model:
        ap.error("--save-only needs --save-model DIR")
    impl = a.impl if a.impl != "auto" else ("transformers" if transformers is not None else "plain")
    if impl == "transformers" and transformers is None:
        ap.error("--impl transformers: transformers is not importable here")
    device = torch.device(a.device)
    models, objectives = a.models.split(","), a.objectives.split(",")
    for name in models:
        if name not in MODELS:
            ap.error(f"unknown model {name!r} (of {', '.join(MODELS)})")
    for objective in objectives:
        if objective not in ("sft", "dpo"):
            ap.error(f"unknown objective {objective!r} (sft, dpo)")
    for name in models:
        cfg = dict(MODELS[name], **(TINY[name] if a.tiny else {}))
        for i, objective in enumerate(objectives):
            save_dir = os.path.join(a.save_model, name) if a.save_model and i == 0 else None  # same seed: same model
            record = bench_one(name, cfg, objective, a, impl, device, DTYPES[a.dtype], save_dir)
            if record is None:
                break  # --save-only: saved, nothing to time
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
