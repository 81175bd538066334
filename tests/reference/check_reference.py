#!/usr/bin/env python3
"""Cross-checks of make_reference.py's forwards, for lack of transformers here (run it: a few seconds).

Each new family is compared, in float64 on its own random weights and batch, logits and every parameter's gradient
of sum_b c_b * logp_b, with something that does not share its code:
  gemma    == the Llama forward on converted weights: norm weights w -> 1 + w, the sqrt(d) embedding scale folded
              into an untied copy of the embeddings;
  phi3     == with partial_rotary_factor 1: the Llama forward on the split qkv_proj / gate_up_proj;
              with 0.75: the Llama forward on per-head permuted q/k rows and zero frequencies on the pass-through
              channels (partial rotary is full rotary with those channels left still);
  gpt_neox == a line-by-line transcription of transformers' GPTNeoX modules (F.linear, F.layer_norm, baddbmm with
              norm_factor, a boolean tril mask filled with finfo.min, cos_cached[position_ids]), both variants;
  gemma2   == a line-by-line transcription of transformers' Gemma2 layer (the sliding mask built as
              tril(ones, diagonal=-sliding_window) over a finfo.min causal mask, repeat_kv by expand);
  lora_gpt_neox: LoRA on the fused qkv and dense_4h_to_h == the base forward on merged weights W + s B A.
Then: every variant's knobs change its logits (so none is silently ignored), and the bf16 autocast forward stays
near the float64 one on the same bf16-rounded weights.
Gradient transforms come free: converted weights are built from the original leaves with torch ops, so autograd
maps the gradients back. Tolerance: 1e-10 relative to each tensor's largest magnitude (measured ~1e-15).
"""
import math
import sys

import torch

import make_reference as mr
import ref_llama
from ref_common import default_inv_freq

F = torch.nn.functional
TOL = 1e-10
failures = []


def check(what, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}")
    if not ok:
        failures.append(what)


def setup(name):
    """The variant's config, f64 leaf weights (requiring grad), batch, mask and coefficients, as make_reference draws
    them (same seed)."""
    v = mr.VARIANTS[name]
    cfg = v["config"]
    gen = torch.Generator().manual_seed(v["seed"])
    w32 = mr.FAMILIES[cfg["model_type"]].make_weights(cfg, gen)
    ids, mask = mr.padded_batch(cfg, gen, prompt_len=2)
    coef = torch.randn(mr.BATCH, generator=gen, dtype=torch.float64)
    return cfg, w32, ids, mask, coef


def run(forward, cfg, w32, ids, mask, coef, convert=lambda w: w):
    """Logits and the gradient of sum_b c_b logp_b with respect to the original weights, through convert()."""
    leaves = {k: v.double().requires_grad_(True) for k, v in w32.items()}
    logits = forward(cfg, convert(leaves), ids)
    tok = F.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1) * mask[:, 1:].double()
    (coef * tok.sum(1)).sum().backward()
    return logits.detach(), {k: v.grad for k, v in leaves.items()}


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def compare(what, got, want):
    (lg, gg), (lw, gw) = got, want
    worst = max([rel(lg, lw)] + [rel(gg[k], gw[k]) for k in gw])
    check(what, worst < TOL and set(gg) == set(gw), f"logits and {len(gw)} gradients agree to {worst:.1e}")


# ---- Gemma as Llama ----------------------------------------------------------------------------------------------
def gemma_as_llama(cfg):
    d = cfg["hidden_size"]
    lcfg = dict(cfg, model_type="llama", hidden_act=cfg["hidden_activation"], tie_word_embeddings=False)

    def convert(w):
        out = {k: (1.0 + v if k.endswith("norm.weight") else v) for k, v in w.items()}
        out["model.embed_tokens.weight"] = w["model.embed_tokens.weight"] * math.sqrt(d)
        out["lm_head.weight"] = w["model.embed_tokens.weight"]
        return out
    return lcfg, convert


def check_gemma():
    cfg, w32, ids, mask, coef = setup("gemma")
    lcfg, convert = gemma_as_llama(cfg)
    compare("gemma == llama((1 + w) norms, scaled untied embeddings)",
            run(mr.FAMILIES["gemma"].forward, cfg, w32, ids, mask, coef),
            run(lambda c, w, i: ref_llama.forward(lcfg, w, i), cfg, w32, ids, mask, coef, convert))


# ---- Phi-3 as Llama ----------------------------------------------------------------------------------------------
def phi3_as_llama(cfg, q_rows):
    """Llama config and weight converter for Phi-3; q_rows permutes each head's q and k channels."""
    H, G, f = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"]
    D = cfg["hidden_size"] // H
    lcfg = dict(cfg, model_type="llama")

    def per_head(m, heads):
        return m.view(heads, D, -1)[:, q_rows, :].reshape(heads * D, -1)

    def convert(w):
        out = {}
        for k, v in w.items():
            if k.endswith("qkv_proj.weight"):
                p = k[:-len("qkv_proj.weight")]
                out[p + "q_proj.weight"] = per_head(v[:H * D], H)
                out[p + "k_proj.weight"] = per_head(v[H * D:(H + G) * D], G)
                out[p + "v_proj.weight"] = v[(H + G) * D:]
            elif k.endswith("gate_up_proj.weight"):
                p = k[:-len("gate_up_proj.weight")]
                out[p + "gate_proj.weight"], out[p + "up_proj.weight"] = v[:f], v[f:]
            else:
                out[k] = v
        return out
    return lcfg, convert


def check_phi3():
    cfg, w32, ids, mask, coef = setup("phi3")
    D = cfg["hidden_size"] // cfg["num_attention_heads"]
    full = dict(cfg, partial_rotary_factor=1.0)
    lcfg, convert = phi3_as_llama(full, list(range(D)))
    compare("phi3 (partial_rotary_factor 1) == llama(split qkv_proj, gate_up_proj)",
            run(mr.FAMILIES["phi3"].forward, full, w32, ids, mask, coef),
            run(lambda c, w, i: ref_llama.forward(lcfg, w, i), full, w32, ids, mask, coef, convert))

    # Partial: Llama rotates channel pairs (j, j + D/2); Phi-3 rotates (i, i + R/2) for i < R/2 and keeps R..D-1.
    # Put Phi-3's rotated pairs on Llama's first R/2 pairs and its kept channels on the rest, whose frequency is 0.
    R = int(D * cfg["partial_rotary_factor"])
    keep = list(range(R, D))
    rows = list(range(R // 2)) + keep[:len(keep) // 2] + list(range(R // 2, R)) + keep[len(keep) // 2:]
    inv = torch.cat([default_inv_freq(cfg["rope_theta"], R), torch.zeros((D - R) // 2)])
    lcfg, convert = phi3_as_llama(cfg, rows)
    saved = ref_llama.inv_freq_of
    ref_llama.inv_freq_of = lambda c, head_dim: inv
    try:
        want = run(lambda c, w, i: ref_llama.forward(lcfg, w, i), cfg, w32, ids, mask, coef, convert)
    finally:
        ref_llama.inv_freq_of = saved
    compare(f"phi3 (rotary {R} of {D}) == llama(permuted q/k channels, zero frequencies on the rest)",
            run(mr.FAMILIES["phi3"].forward, cfg, w32, ids, mask, coef), want)


# ---- GPT-NeoX, transcribed from transformers' modeling_gpt_neox.py -------------------------------------------------
def hf_rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def hf_gpt_neox(cfg, w, input_ids):
    B, T = input_ids.shape
    hidden_size, num_heads = cfg["hidden_size"], cfg["num_attention_heads"]
    head_size = hidden_size // num_heads
    rotary_ndims = int(head_size * cfg["rotary_pct"])
    norm_factor = head_size ** -0.5
    max_pos = cfg["max_position_embeddings"]
    base = cfg["rotary_emb_base"]
    inv_freq = 1.0 / (base ** (torch.arange(0, rotary_ndims, 2, dtype=torch.int64).float() / rotary_ndims))
    t = torch.arange(max_pos, dtype=torch.int64).type_as(inv_freq)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos_cached, sin_cached = emb.cos(), emb.sin()
    bias = torch.tril(torch.ones((max_pos, max_pos), dtype=torch.bool)).view(1, 1, max_pos, max_pos)
    position_ids = torch.arange(0, T, dtype=torch.long).unsqueeze(0)
    def gelu_new(x):  # NewGELUActivation
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    act = {"gelu": F.gelu, "gelu_new": gelu_new}[cfg["hidden_act"]]

    def linear(x, name):
        return F.linear(x, w[name + ".weight"], w.get(name + ".bias"))

    def layer_norm(x, name):
        return F.layer_norm(x, (hidden_size,), w[name + ".weight"], w[name + ".bias"], cfg["layer_norm_eps"])

    def attention(hidden_states, p):
        qkv = linear(hidden_states, p + "attention.query_key_value")
        qkv = qkv.view(*(qkv.size()[:-1] + (num_heads, 3 * head_size)))
        query = qkv[..., :head_size].permute(0, 2, 1, 3)
        key = qkv[..., head_size:2 * head_size].permute(0, 2, 1, 3)
        value = qkv[..., 2 * head_size:].permute(0, 2, 1, 3)
        query_rot, query_pass = query[..., :rotary_ndims], query[..., rotary_ndims:]
        key_rot, key_pass = key[..., :rotary_ndims], key[..., rotary_ndims:]
        cos = cos_cached[:T][position_ids].unsqueeze(1).to(query.dtype)
        sin = sin_cached[:T][position_ids].unsqueeze(1).to(query.dtype)
        query = torch.cat(((query_rot * cos) + (hf_rotate_half(query_rot) * sin), query_pass), dim=-1)
        key = torch.cat(((key_rot * cos) + (hf_rotate_half(key_rot) * sin), key_pass), dim=-1)
        causal_mask = bias[:, :, :T, :T]
        q = query.reshape(B * num_heads, T, head_size)
        k = key.reshape(B * num_heads, T, head_size)
        attn_scores = torch.zeros(B * num_heads, T, T, dtype=q.dtype)
        attn_scores = torch.baddbmm(attn_scores, q, k.transpose(1, 2), beta=1.0, alpha=norm_factor)
        attn_scores = attn_scores.view(B, num_heads, T, T)
        mask_value = torch.tensor(torch.finfo(attn_scores.dtype).min, dtype=attn_scores.dtype)
        attn_scores = torch.where(causal_mask, attn_scores, mask_value)
        attn_weights = F.softmax(attn_scores, dim=-1)
        attn_output = torch.matmul(attn_weights, value)
        attn_output = attn_output.permute(0, 2, 1, 3).contiguous().view(B, T, num_heads * head_size)
        return linear(attn_output, p + "attention.dense")

    def mlp(hidden_states, p):
        return linear(act(linear(hidden_states, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")

    hidden_states = F.embedding(input_ids, w["gpt_neox.embed_in.weight"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        attn_output = attention(layer_norm(hidden_states, p + "input_layernorm"), p)
        if cfg["use_parallel_residual"]:
            mlp_output = mlp(layer_norm(hidden_states, p + "post_attention_layernorm"), p)
            hidden_states = mlp_output + attn_output + hidden_states
        else:
            attn_output = attn_output + hidden_states
            mlp_output = mlp(layer_norm(attn_output, p + "post_attention_layernorm"), p)
            hidden_states = mlp_output + attn_output
    hidden_states = layer_norm(hidden_states, "gpt_neox.final_layer_norm")
    return F.linear(hidden_states, w["embed_out.weight"])


def check_gpt_neox():
    for name in ("gpt_neox_parallel", "gpt_neox_sequential"):
        cfg, w32, ids, mask, coef = setup(name)
        compare(f"{name} == transformers' GPTNeoX transcribed",
                run(mr.FAMILIES["gpt_neox"].forward, cfg, w32, ids, mask, coef),
                run(hf_gpt_neox, cfg, w32, ids, mask, coef))


# ---- Gemma-2, transcribed from transformers' modeling_gemma2.py ---------------------------------------------------
def hf_gemma2(cfg, w, input_ids):
    B, T = input_ids.shape
    hidden_size, num_heads, num_kv, head_dim = (cfg["hidden_size"], cfg["num_attention_heads"],
                                                cfg["num_key_value_heads"], cfg["head_dim"])
    eps = cfg["rms_norm_eps"]
    scaling = cfg["query_pre_attn_scalar"] ** -0.5
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    position_ids = torch.arange(T).unsqueeze(0)
    freqs = (inv_freq[None, :, None].float() @ position_ids[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    dtype = w["model.embed_tokens.weight"].dtype
    cos, sin = emb.cos().to(dtype).unsqueeze(1), emb.sin().to(dtype).unsqueeze(1)
    min_dtype = torch.finfo(dtype).min
    causal_mask = torch.full((T, T), fill_value=min_dtype, dtype=dtype).triu(1)[None, None].expand(B, 1, -1, -1)

    def rms_norm(x, name):  # Gemma2RMSNorm, its x.float() skipped: this check runs in float64
        out = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
        return (out * (1.0 + w[name + ".weight"])).type_as(x)

    def proj(x, name):
        return F.linear(x, w[name + ".weight"])

    def repeat_kv(hidden_states, n_rep):
        batch, kv_heads, slen, hd = hidden_states.shape
        hidden_states = hidden_states[:, :, None, :, :].expand(batch, kv_heads, n_rep, slen, hd)
        return hidden_states.reshape(batch, kv_heads * n_rep, slen, hd)

    def attention(hidden_states, attention_mask, p):
        q = proj(hidden_states, p + "self_attn.q_proj").view(B, T, num_heads, head_dim).transpose(1, 2)
        k = proj(hidden_states, p + "self_attn.k_proj").view(B, T, num_kv, head_dim).transpose(1, 2)
        v = proj(hidden_states, p + "self_attn.v_proj").view(B, T, num_kv, head_dim).transpose(1, 2)
        q, k = (q * cos) + (hf_rotate_half(q) * sin), (k * cos) + (hf_rotate_half(k) * sin)
        k, v = repeat_kv(k, num_heads // num_kv), repeat_kv(v, num_heads // num_kv)
        attn_weights = torch.matmul(q, k.transpose(2, 3)) * scaling
        attn_weights = attn_weights / cfg["attn_logit_softcapping"]
        attn_weights = torch.tanh(attn_weights)
        attn_weights = attn_weights * cfg["attn_logit_softcapping"]
        attn_weights = attn_weights + attention_mask[:, :, :, :T]
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=dtype).to(q.dtype)
        attn_output = torch.matmul(attn_weights, v).transpose(1, 2).reshape(B, T, -1)
        return proj(attn_output, p + "self_attn.o_proj")

    hidden_states = F.embedding(input_ids, w["model.embed_tokens.weight"])
    hidden_states = hidden_states * torch.tensor(hidden_size ** 0.5, dtype=hidden_states.dtype)
    for layer_idx in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer_idx}."
        attention_mask = causal_mask
        if not bool(layer_idx % 2):  # is_sliding
            sliding_window_mask = torch.tril(torch.ones_like(attention_mask, dtype=torch.bool),
                                             diagonal=-cfg["sliding_window"])
            attention_mask = torch.where(sliding_window_mask, min_dtype, attention_mask)
        residual = hidden_states
        hidden_states = attention(rms_norm(hidden_states, p + "input_layernorm"), attention_mask, p)
        hidden_states = rms_norm(hidden_states, p + "post_attention_layernorm")
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = rms_norm(hidden_states, p + "pre_feedforward_layernorm")
        gate, up = proj(hidden_states, p + "mlp.gate_proj"), proj(hidden_states, p + "mlp.up_proj")
        hidden_states = proj(F.gelu(gate, approximate="tanh") * up, p + "mlp.down_proj")
        hidden_states = rms_norm(hidden_states, p + "post_feedforward_layernorm")
        hidden_states = residual + hidden_states
    hidden_states = rms_norm(hidden_states, "model.norm")
    logits = F.linear(hidden_states, w["model.embed_tokens.weight"])
    logits = logits / cfg["final_logit_softcapping"]
    logits = torch.tanh(logits)
    return logits * cfg["final_logit_softcapping"]


def check_gemma2():
    cfg, w32, ids, mask, coef = setup("gemma2")
    assert cfg["hidden_activation"] == "gelu_pytorch_tanh"
    compare("gemma2 == transformers' Gemma2 transcribed",
            run(mr.FAMILIES["gemma2"].forward, cfg, w32, ids, mask, coef),
            run(hf_gemma2, cfg, w32, ids, mask, coef))


# ---- LoRA on GPT-NeoX ---------------------------------------------------------------------------------------------
def check_lora_gpt_neox():
    cfg, w32, ids, _, _ = setup("gpt_neox_parallel")
    gen = torch.Generator().manual_seed(5)
    scale = 8.0 / 4
    w = {k: v.double() for k, v in w32.items()}
    lora, merged = {}, dict(w)
    for i in range(cfg["num_hidden_layers"]):
        for m in (f"gpt_neox.layers.{i}.attention.query_key_value", f"gpt_neox.layers.{i}.mlp.dense_4h_to_h"):
            out_dim, in_dim = w[m + ".weight"].shape
            a = torch.randn(4, in_dim, generator=gen, dtype=torch.float64) * 0.3
            b = torch.randn(out_dim, 4, generator=gen, dtype=torch.float64) * 0.3
            lora[m] = (a, b)
            merged[m + ".weight"] = w[m + ".weight"] + scale * b @ a
    fwd = mr.FAMILIES["gpt_neox"].forward
    with torch.no_grad():
        err = rel(fwd(cfg, w, ids, lora, scale), fwd(cfg, merged, ids))
        moved = rel(fwd(cfg, w, ids, lora, scale), fwd(cfg, w, ids))
    check("lora_gpt_neox == merged weights W + s B A", err < TOL and moved > 1e-2,
          f"agree to {err:.1e} (LoRA moves the logits by {moved:.2f})")


# ---- every knob changes the logits --------------------------------------------------------------------------------
KNOBS = {
    "gpt_neox_parallel": [dict(use_parallel_residual=False), dict(rotary_pct=1.0), dict(hidden_act="gelu_new")],
    "gpt_neox_sequential": [dict(use_parallel_residual=True), dict(rotary_pct=1.0), dict(hidden_act="gelu")],
    "gemma": [dict(hidden_activation="gelu")],
    "gemma2": [dict(sliding_window=None), dict(attn_logit_softcapping=1e9), dict(final_logit_softcapping=1e9),
               dict(query_pre_attn_scalar=8)],
    "phi3": [dict(partial_rotary_factor=1.0)],
}


def check_knobs():
    for name, changes in KNOBS.items():
        cfg, w32, ids, _, _ = setup(name)
        fwd = mr.FAMILIES[cfg["model_type"]].forward
        w = {k: v.double() for k, v in w32.items()}
        base = fwd(cfg, w, ids)
        for change in changes:
            d = rel(fwd(dict(cfg, **change), w, ids), base)
            check(f"{name}: {change} changes the logits", d > 1e-6, f"by {d:.1e} of their largest magnitude")


# ---- bf16 autocast stays near float64 -----------------------------------------------------------------------------
def check_bf16():
    for name in ("gpt_neox_parallel", "gpt_neox_sequential", "gemma", "gemma2", "phi3"):
        cfg, w32, ids, _, _ = setup(name)
        fwd = mr.FAMILIES[cfg["model_type"]].forward
        w16 = {k: v.bfloat16().float() for k, v in w32.items()}
        with torch.no_grad():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                lo = fwd(cfg, w16, ids).float()
            hi = fwd(cfg, {k: v.double() for k, v in w16.items()}, ids)
        d = rel(lo.double(), hi)
        check(f"{name}: bf16 autocast logits near float64", d < 5e-2, f"{d:.1e} of the largest magnitude")


def main():
    torch.set_grad_enabled(True)
    check_gemma()
    check_phi3()
    check_gpt_neox()
    check_gemma2()
    check_lora_gpt_neox()
    check_knobs()
    check_bf16()
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all reference cross-checks passed")


if __name__ == "__main__":
    main()
