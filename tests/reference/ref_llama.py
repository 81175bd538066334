"""The Llama family's reference forward: Llama (incl. llama3 rope scaling), Mistral, Qwen2 and Qwen3, following
transformers' modeling_llama / modeling_mistral / modeling_qwen2 / modeling_qwen3 with plain torch ops.

Weights use the HF names (model.embed_tokens, model.layers.{i}.self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj,
input_layernorm, post_attention_layernorm, model.norm, lm_head). Norm weights multiply plainly (w, not 1 + w).
"""
import math

import torch

from ref_common import ACTIVATIONS, rmsnorm, rotate_half, weight_makers


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

    mat, norm = weight_makers(gen)

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


def forward(cfg, w, ids, lora=None, lora_scale=1.0):
    """Returns logits [B, T, V] in the dtype of w. lora maps a projection name ("model.layers.0.self_attn.q_proj")
    to (A, B): PEFT's y = x W^T + b + scale * (x A^T) B^T."""
    lora = lora or {}
    B, T = ids.shape
    d, H, G = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim", d // H)
    eps = cfg["rms_norm_eps"]
    act = ACTIVATIONS[cfg["hidden_act"]]  # LlamaMLP: ACT2FN[config.hidden_act]
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
        mlp = act(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj")
        h = h + lin(mlp, p + "mlp.down_proj")
    h = rmsnorm(h, w["model.norm.weight"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return h @ head.T
