"""GPT-NeoX (Pythia) reference forward, from transformers' modeling_gpt_neox.py with plain torch ops.

What differs from Llama:
- LayerNorm with bias (input_layernorm, post_attention_layernorm, final_layer_norm), not RMSNorm;
- one fused query_key_value projection whose output is viewed per head as [heads, 3 * head_size] and split into
  q, k, v along the last dim (so the weight's rows interleave per head: q0 k0 v0 q1 k1 v1 ...), with biases;
- partial rotary: only the first int(head_size * rotary_pct) channels of each head rotate (base rotary_emb_base);
- a plain MLP dense_h_to_4h -> act -> dense_4h_to_h with biases, act from hidden_act ("gelu" exact, "gelu_new");
- parallel residual (x + attn(ln1(x)) + mlp(ln2(x))) or sequential, by use_parallel_residual;
- an untied output projection embed_out, no bias.
"""
import torch

from ref_common import ACTIVATIONS, apply_rope, causal_mask, default_inv_freq, rope_cos_sin, weight_makers


def make_weights(cfg, gen):
    d, f, V, H = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_attention_heads"]
    assert d % H == 0

    mat, norm_weight = weight_makers(gen)

    w = {"gpt_neox.embed_in.weight": mat(V, d, std=0.5)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        w[p + "input_layernorm.weight"] = norm_weight(d)
        w[p + "input_layernorm.bias"] = mat(d, std=0.1)
        w[p + "post_attention_layernorm.weight"] = norm_weight(d)
        w[p + "post_attention_layernorm.bias"] = mat(d, std=0.1)
        w[p + "attention.query_key_value.weight"] = mat(3 * d, d)
        w[p + "attention.dense.weight"] = mat(d, d)
        if cfg["attention_bias"]:
            w[p + "attention.query_key_value.bias"] = mat(3 * d, std=0.1)
            w[p + "attention.dense.bias"] = mat(d, std=0.1)
        w[p + "mlp.dense_h_to_4h.weight"] = mat(f, d)
        w[p + "mlp.dense_h_to_4h.bias"] = mat(f, std=0.1)
        w[p + "mlp.dense_4h_to_h.weight"] = mat(d, f)
        w[p + "mlp.dense_4h_to_h.bias"] = mat(d, std=0.1)
    w["gpt_neox.final_layer_norm.weight"] = norm_weight(d)
    w["gpt_neox.final_layer_norm.bias"] = mat(d, std=0.1)
    w["embed_out.weight"] = mat(V, d, std=0.3)
    return w


def layer_norm(x, weight, bias, eps):
    """nn.LayerNorm over the last dim (biased variance), its statistics in fp32 at least (f64 stays f64)."""
    x = x if x.dtype == torch.float64 else x.float()
    mean = x.mean(-1, keepdim=True)
    var = (x - mean).pow(2).mean(-1, keepdim=True)
    return (x - mean) * torch.rsqrt(var + eps) * weight + bias


def forward(cfg, w, ids, lora=None, lora_scale=1.0):
    """Logits [B, T, V]. lora maps a module name ("gpt_neox.layers.0.attention.query_key_value") to (A, B):
    PEFT's y = x W^T + b + scale * (x A^T) B^T."""
    lora = lora or {}
    B, T = ids.shape
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    D = d // H
    rotary_ndims = int(D * cfg["rotary_pct"])
    eps = cfg["layer_norm_eps"]
    act = ACTIVATIONS[cfg["hidden_act"]]
    dtype = w["gpt_neox.embed_in.weight"].dtype
    cos, sin = rope_cos_sin(default_inv_freq(cfg["rotary_emb_base"], rotary_ndims), T, dtype)
    mask = causal_mask(T, dtype)

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        if name + ".bias" in w:
            y = y + w[name + ".bias"]
        if name in lora:
            a, b = lora[name]
            y = y + lora_scale * ((x @ a.T) @ b.T)
        return y

    def norm(x, name):
        return layer_norm(x, w[name + ".weight"], w[name + ".bias"], eps)

    def attention(x, p):
        qkv = lin(x, p + "attention.query_key_value").view(B, T, H, 3 * D)
        q = qkv[..., :D].transpose(1, 2)
        k = qkv[..., D:2 * D].transpose(1, 2)
        v = qkv[..., 2 * D:].transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        scores = (q @ k.transpose(-1, -2)) * D ** -0.5 + mask
        att = torch.softmax(scores, dim=-1) @ v
        return lin(att.transpose(1, 2).reshape(B, T, d), p + "attention.dense")

    def mlp(x, p):
        return lin(act(lin(x, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")

    h = w["gpt_neox.embed_in.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        attn_out = attention(norm(h, p + "input_layernorm"), p)
        if cfg["use_parallel_residual"]:
            mlp_out = mlp(norm(h, p + "post_attention_layernorm"), p)
            h = mlp_out + attn_out + h  # transformers' order of the sum
        else:
            h = attn_out + h
            h = mlp(norm(h, p + "post_attention_layernorm"), p) + h
    h = norm(h, "gpt_neox.final_layer_norm")
    return h @ w["embed_out.weight"].T
