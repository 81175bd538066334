#!/usr/bin/env python3
"""Writes PyTorch reference outputs for Tandem's model parity test.

For each architecture variant: a random tiny model (config.json + model.safetensors, fp32 weights), a padded
batch with a loss mask, and -- computed in float64 from those exact fp32 weights, following Hugging Face's
modeling_llama / modeling_qwen2 / modeling_qwen3 -- logits, per-token log-probs, per-sequence sums and the
gradient of every parameter for loss = sum_b c_b * logp_b (random c_b, as DPO weights its sequences).

Only the Debian python3-torch package is needed (no transformers, no safetensors).
"""
import argparse
import hashlib
import json
import math
import os
import struct

import torch

VARIANTS = {
    # name: config overrides
    "llama_gqa": dict(model_type="llama", architectures=["LlamaForCausalLM"], num_attention_heads=4,
                      num_key_value_heads=2, tie_word_embeddings=False),
    "llama3_scaled_tied_bias": dict(model_type="llama", architectures=["LlamaForCausalLM"], num_attention_heads=4,
                                    num_key_value_heads=1, tie_word_embeddings=True, attention_bias=True,
                                    rope_theta=500000.0,
                                    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                                      high_freq_factor=4.0, original_max_position_embeddings=16)),
    "mistral": dict(model_type="mistral", architectures=["MistralForCausalLM"], num_attention_heads=4,
                    num_key_value_heads=4, tie_word_embeddings=False, sliding_window=4096),
    "qwen2": dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], num_attention_heads=4,
                  num_key_value_heads=2, tie_word_embeddings=False, rope_theta=1000000.0),
    "qwen3": dict(model_type="qwen3", architectures=["Qwen3ForCausalLM"], num_attention_heads=4,
                  num_key_value_heads=2, head_dim=12, tie_word_embeddings=True, attention_bias=False,
                  rope_theta=1000000.0),
}

BASE = dict(vocab_size=96, hidden_size=32, intermediate_size=56, num_hidden_layers=2, rms_norm_eps=1e-6,
            rope_theta=10000.0, max_position_embeddings=64, hidden_act="silu")
BATCH, SEQ = 3, 11
LENGTHS = [11, 8, 5]


def write_safetensors(path, tensors):
    kinds = {torch.float32: "F32", torch.float64: "F64", torch.int32: "I32", torch.uint8: "U8", torch.bfloat16: "BF16"}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": kinds[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def inv_freq_of(cfg, head_dim):
    # transformers' _compute_default_rope_parameters / _compute_llama3_parameters, in fp32
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, inv_l)


def make_weights(cfg, gen):
    d, f, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, G = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim", d // H)
    qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    o_bias = cfg["model_type"] in ("llama", "qwen3") and cfg.get("attention_bias", False)

    def mat(*shape, std=0.15):
        return torch.randn(*shape, generator=gen) * std

    def norm(n):
        return 1.0 + 0.1 * torch.randn(n, generator=gen)

    w = {"model.embed_tokens.weight": mat(V, d, std=0.5)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(d)
        w[p + "self_attn.q_proj.weight"] = mat(H * D, d)
        w[p + "self_attn.k_proj.weight"] = mat(G * D, d)
        w[p + "self_attn.v_proj.weight"] = mat(G * D, d)
        w[p + "self_attn.o_proj.weight"] = mat(d, H * D)
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = mat(H * D, std=0.1)
            w[p + "self_attn.k_proj.bias"] = mat(G * D, std=0.1)
            w[p + "self_attn.v_proj.bias"] = mat(G * D, std=0.1)
        if o_bias:
            w[p + "self_attn.o_proj.bias"] = mat(d, std=0.1)
        if cfg["model_type"] == "qwen3":
            w[p + "self_attn.q_norm.weight"] = norm(D)
            w[p + "self_attn.k_norm.weight"] = norm(D)
        w[p + "post_attention_layernorm.weight"] = norm(d)
        w[p + "mlp.gate_proj.weight"] = mat(f, d)
        w[p + "mlp.up_proj.weight"] = mat(f, d)
        w[p + "mlp.down_proj.weight"] = mat(d, f)
    w["model.norm.weight"] = norm(d)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = mat(V, d, std=0.3)
    return w


def rmsnorm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(cfg, w, ids, lora=None, lora_scale=1.0):
    """Returns logits [B, T, V] in the dtype of w. lora maps a projection name ("model.layers.0.self_attn.q_proj")
    to (A, B): PEFT's y = x W^T + b + scale * (x A^T) B^T."""
    lora = lora or {}
    B, T = ids.shape
    d, H, G = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim", d // H)
    eps = cfg["rms_norm_eps"]
    dtype = w["model.embed_tokens.weight"].dtype
    inv = inv_freq_of(cfg, D)
    freqs = torch.outer(torch.arange(T).float(), inv)  # fp32, as transformers
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    causal = torch.full((T, T), float("-inf"), dtype=dtype).triu(1)

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        if name + ".bias" in w:
            y = y + w[name + ".bias"]
        if name in lora:
            a, b = lora[name]
            y = y + lora_scale * ((x @ a.T) @ b.T)
        return y

    h = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rmsnorm(h, w[p + "input_layernorm.weight"], eps)
        q = lin(x, p + "self_attn.q_proj").view(B, T, H, D)
        k = lin(x, p + "self_attn.k_proj").view(B, T, G, D)
        v = lin(x, p + "self_attn.v_proj").view(B, T, G, D).transpose(1, 2)
        if cfg["model_type"] == "qwen3":
            q = rmsnorm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rmsnorm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // G, dim=1)  # transformers' repeat_kv
        v = v.repeat_interleave(H // G, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(D) + causal
        att = torch.softmax(scores, dim=-1) @ v
        h = h + lin(att.transpose(1, 2).reshape(B, T, H * D), p + "self_attn.o_proj")
        x = rmsnorm(h, w[p + "post_attention_layernorm.weight"], eps)
        mlp = torch.nn.functional.silu(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj")
        h = h + lin(mlp, p + "mlp.down_proj")
    h = rmsnorm(h, w["model.norm.weight"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return h @ head.T


def padded_batch(cfg, gen, prompt_len):
    """Random ids [BATCH, SEQ] right-padded with id 0 to LENGTHS, and the loss mask scoring tokens prompt_len..n-1."""
    ids = torch.randint(0, cfg["vocab_size"], (BATCH, SEQ), generator=gen, dtype=torch.int64)
    mask = torch.zeros(BATCH, SEQ, dtype=torch.uint8)
    for b, n in enumerate(LENGTHS):
        mask[b, prompt_len:n] = 1
        ids[b, n:] = 0
    return ids, mask


def write_variant(out_dir, name, overrides, seed):
    cfg = dict(BASE, **overrides)
    gen = torch.Generator().manual_seed(seed)
    weights32 = make_weights(cfg, gen)
    ids, mask = padded_batch(cfg, gen, prompt_len=2)  # the first two tokens are "prompt"
    lengths = torch.tensor(LENGTHS, dtype=torch.int32)
    mask[1, 4] = 0  # a hole in the middle of a response
    coef = torch.randn(BATCH, generator=gen, dtype=torch.float64)

    # float64 from the exact fp32 values
    w64 = {k: v.double().requires_grad_(True) for k, v in weights32.items()}
    logits = forward(cfg, w64, ids)
    logp_all = torch.log_softmax(logits[:, :-1], dim=-1)
    tok = logp_all.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1) * mask[:, 1:].double()
    token_logp = torch.cat([tok, torch.zeros(BATCH, 1, dtype=torch.float64)], dim=1)  # row t scores token t+1
    seq_logp = token_logp.sum(dim=1)
    (coef * seq_logp).sum().backward()

    vdir = os.path.join(out_dir, name)
    os.makedirs(vdir, exist_ok=True)
    with open(os.path.join(vdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(vdir, "model.safetensors"), weights32)
    expected = {
        "tokens": ids.to(torch.int32), "lengths": lengths, "loss_mask": mask,
        "coef": coef, "logits": logits.detach(), "token_logp": token_logp.detach(), "seq_logp": seq_logp.detach(),
    }
    for k, v in w64.items():
        expected["grad." + k] = v.grad
    write_safetensors(os.path.join(vdir, "expected.safetensors"), expected)


def write_bf16_variant(out_dir, name, overrides, seed):
    """The variant's model with weights rounded to bf16 (written as a BF16 safetensors file), run under PyTorch CPU
    autocast(bfloat16): matmuls in bf16, the residual stream, norms and softmax in fp32, as HF modelling code runs
    under autocast. Logits are upcast to fp32 before log_softmax. Expected: logits, log-probs and the fp32 weights'
    gradients of sum_b c_b * logp_b."""
    cfg = dict(BASE, **overrides)
    gen = torch.Generator().manual_seed(seed)
    weights16 = {k: v.bfloat16() for k, v in make_weights(cfg, gen).items()}
    ids, mask = padded_batch(cfg, gen, prompt_len=2)
    coef = torch.randn(BATCH, generator=gen, dtype=torch.float64)
    w32 = {k: v.float().requires_grad_(True) for k, v in weights16.items()}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = forward(cfg, w32, ids).float()
    logp_all = torch.log_softmax(logits[:, :-1], dim=-1)
    tok = logp_all.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1) * mask[:, 1:].float()
    token_logp = torch.cat([tok, torch.zeros(BATCH, 1)], dim=1)
    seq_logp = token_logp.sum(dim=1)
    (coef.float() * seq_logp).sum().backward()

    vdir = os.path.join(out_dir, name + "_bf16")
    os.makedirs(vdir, exist_ok=True)
    with open(os.path.join(vdir, "config.json"), "w") as f:
        json.dump(dict(cfg, torch_dtype="bfloat16"), f, indent=2)
    write_safetensors(os.path.join(vdir, "model.safetensors"), weights16)
    expected = {"tokens": ids.to(torch.int32), "lengths": torch.tensor(LENGTHS, dtype=torch.int32), "loss_mask": mask,
                "coef": coef, "logits": logits.detach(), "token_logp": token_logp.detach(),
                "seq_logp": seq_logp.detach()}
    for k, v in w32.items():
        expected["grad." + k] = v.grad
    write_safetensors(os.path.join(vdir, "expected.safetensors"), expected)


def write_lora_reference(out_dir):
    """A Qwen2-shaped model with LoRA (r=4, alpha=8) on q, v, o, gate and down, A and B both random, written as a
    base model folder plus a PEFT adapter folder; expected logits, log-probs and gradients of every A and B."""
    cfg = dict(BASE, **VARIANTS["qwen2"])
    gen = torch.Generator().manual_seed(77)
    weights32 = make_weights(cfg, gen)
    targets = ["q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"]
    r, alpha = 4, 8.0
    H, G, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"] // cfg["num_attention_heads"]
    dims = {"q_proj": (H * D, 32), "v_proj": (G * D, 32), "o_proj": (32, H * D), "gate_proj": (56, 32),
            "down_proj": (32, 56)}
    paths = {"q_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn", "gate_proj": "mlp", "down_proj": "mlp"}
    adapter32, lora = {}, {}
    for i in range(cfg["num_hidden_layers"]):
        for t in targets:
            out_dim, in_dim = dims[t]
            name = f"model.layers.{i}.{paths[t]}.{t}"
            a = torch.randn(r, in_dim, generator=gen) * 0.3
            b = torch.randn(out_dim, r, generator=gen) * 0.3
            adapter32[f"base_model.model.{name}.lora_A.weight"] = a
            adapter32[f"base_model.model.{name}.lora_B.weight"] = b
    ids, mask = padded_batch(cfg, gen, prompt_len=1)
    coef = torch.randn(BATCH, generator=gen, dtype=torch.float64)
    w64 = {k: v.double() for k, v in weights32.items()}
    a64 = {k: v.double().requires_grad_(True) for k, v in adapter32.items()}
    for k in a64:
        if k.endswith("lora_A.weight"):
            name = k[len("base_model.model."):-len(".lora_A.weight")]
            lora[name] = (a64[k], a64[k.replace("lora_A", "lora_B")])
    logits = forward(cfg, w64, ids, lora, alpha / r)
    tok = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1) * mask[:, 1:].double()
    seq_logp = tok.sum(1)
    (coef * seq_logp).sum().backward()
    vdir = os.path.join(out_dir, "lora")
    os.makedirs(os.path.join(vdir, "adapter"), exist_ok=True)
    with open(os.path.join(vdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(vdir, "model.safetensors"), weights32)
    write_safetensors(os.path.join(vdir, "adapter", "adapter_model.safetensors"), adapter32)
    with open(os.path.join(vdir, "adapter", "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.0,
                   "target_modules": targets, "bias": "none", "fan_in_fan_out": False}, f, indent=2)
    expected = {"tokens": ids.to(torch.int32), "lengths": torch.tensor(LENGTHS, dtype=torch.int32), "loss_mask": mask,
                "coef": coef, "logits": logits.detach(), "seq_logp": seq_logp.detach()}
    for k, v in a64.items():
        expected["grad." + k] = v.grad
    write_safetensors(os.path.join(vdir, "expected.safetensors"), expected)


def write_optimizer_reference(out_dir):
    """Five steps of clip_grad_norm_(max_norm=1) + torch.optim.AdamW on two tensors, one without weight decay."""
    gen = torch.Generator().manual_seed(7)
    a = torch.randn(4, 3, generator=gen)
    b = torch.randn(5, generator=gen)
    grads = [(torch.randn(4, 3, generator=gen) * (s + 1), torch.randn(5, generator=gen) * (s + 1)) for s in range(5)]
    lrs = [1e-2, 2e-2, 3e-2, 2.5e-2, 1e-2]
    pa, pb = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    opt = torch.optim.AdamW([{"params": [pa], "weight_decay": 0.1}, {"params": [pb], "weight_decay": 0.0}],
                            lr=lrs[0], betas=(0.9, 0.95), eps=1e-8)
    norms = []
    for (ga, gb), lr in zip(grads, lrs):
        pa.grad, pb.grad = ga.clone(), gb.clone()
        norms.append(float(torch.nn.utils.clip_grad_norm_([pa, pb], max_norm=1.0)))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
    t = {"a0": a, "b0": b, "lrs": torch.tensor(lrs, dtype=torch.float64),
         "norms": torch.tensor(norms, dtype=torch.float64), "a": pa.detach(), "b": pb.detach()}
    for s, (ga, gb) in enumerate(grads):
        t[f"ga{s}"], t[f"gb{s}"] = ga, gb
    write_safetensors(os.path.join(out_dir, "adamw.safetensors"), t)


def write_objectives_reference(out_dir):
    """Preference and SFT losses written as TRL writes them, differentiated by torch autograd in float64."""
    gen = torch.Generator().manual_seed(11)
    n = 6
    nc = torch.randint(3, 20, (n,), generator=gen).double()
    nr = torch.randint(3, 20, (n,), generator=gen).double()
    pc0 = -nc * (0.5 + 2 * torch.rand(n, generator=gen, dtype=torch.float64))
    pr0 = -nr * (0.5 + 2 * torch.rand(n, generator=gen, dtype=torch.float64))
    rc = pc0 + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64)
    rr = pr0 + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64)
    F = torch.nn.functional
    beta, ls, gamma = 0.1, 0.1, 0.5

    def sigmoid(pc, pr, smoothing):
        logits = beta * ((pc - rc) - (pr - rr))
        return (-F.logsigmoid(logits) * (1 - smoothing) - F.logsigmoid(-logits) * smoothing).mean()

    def ipo(pc, pr):
        logits = (pc / nc - pr / nr) - (rc / nc - rr / nr)
        return ((logits - 1 / (2 * beta)) ** 2).mean()

    def hinge(pc, pr):
        return torch.relu(1 - beta * ((pc - pr) - (rc - rr))).mean()

    def simpo(pc, pr, b=2.0):
        logits = (pc / nc - pr / nr) - gamma / b
        return (-F.logsigmoid(b * logits) * (1 - ls) - F.logsigmoid(-b * logits) * ls).mean()

    def orpo(pc, pr):
        ac, ar = pc / nc, pr / nr
        log_odds = (ac - ar) - (torch.log1p(-torch.exp(ac)) - torch.log1p(-torch.exp(ar)))
        return -pc.sum() / nc.sum() - beta * F.logsigmoid(log_odds).mean()

    def rpo_nll(pc):  # TRL's nll_loss: cross-entropy over every chosen token of the batch, i.e. a token mean
        return -pc.sum() / nc.sum()

    rpo_alpha = 0.5
    cases = {"sigmoid": lambda a, b: sigmoid(a, b, 0.0), "sigmoid_ls": lambda a, b: sigmoid(a, b, ls),
             "ipo": ipo, "hinge": hinge, "simpo": simpo, "orpo": orpo,
             "rpo_sigmoid": lambda a, b: sigmoid(a, b, 0.0) + rpo_alpha * rpo_nll(a),
             "rpo_ipo": lambda a, b: ipo(a, b) + rpo_alpha * rpo_nll(a)}
    t = {"nc": nc, "nr": nr, "pc": pc0, "pr": pr0, "rc": rc, "rr": rr}
    for name, fn in cases.items():
        pc, pr = pc0.clone().requires_grad_(True), pr0.clone().requires_grad_(True)
        loss = fn(pc, pr)
        loss.backward()
        t[name + ".loss"] = loss.detach().reshape(1)
        t[name + ".d_chosen"], t[name + ".d_rejected"] = pc.grad, pr.grad
    write_safetensors(os.path.join(out_dir, "objectives.safetensors"), t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    stamp_path = os.path.join(args.out, "STAMP")
    stamp = hashlib.sha256(open(__file__, "rb").read()).hexdigest() + " torch " + torch.__version__
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp:
        return  # up to date
    torch.manual_seed(0)
    for i, (name, overrides) in enumerate(sorted(VARIANTS.items())):
        write_variant(args.out, name, overrides, seed=1000 + i)
        write_bf16_variant(args.out, name, overrides, seed=2000 + i)
    write_optimizer_reference(args.out)
    write_lora_reference(args.out)
    write_objectives_reference(args.out)
    with open(stamp_path, "w") as f:
        f.write(stamp)
    print(f"reference: wrote {len(VARIANTS)} variants to {args.out} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
