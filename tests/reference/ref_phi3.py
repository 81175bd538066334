"""Phi-3 reference forward, from transformers' modeling_phi3.py with plain torch ops.

What differs from Llama:
- one fused self_attn.qkv_proj [(H + 2G) * D, d] whose output splits as q = [:H*D], k = [H*D : H*D + G*D],
  v = the rest (blocks, not per-head interleaved as GPT-NeoX), no biases;
- one fused mlp.gate_up_proj [2F, d]: output chunk(2) gives gate (first F) then up; down(up * act(gate));
- partial rotary: the first int(head_dim * partial_rotary_factor) channels of each head rotate, with inv_freq over
  that width (rope_theta base);
- a sliding window on every layer when sliding_window is set (none here).
RMSNorm is Llama's (plain w).
"""
import torch

from ref_common import ACTIVATIONS, apply_rope, causal_mask, default_inv_freq, rmsnorm, rope_cos_sin, weight_makers


def head_dim_of(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def make_weights(cfg, gen):
    d, f, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, G, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim_of(cfg)

    mat, norm_weight = weight_makers(gen)

    w = {"model.embed_tokens.weight": mat(V, d, std=0.5)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm_weight(d)
        w[p + "self_attn.qkv_proj.weight"] = mat((H + 2 * G) * D, d)
        w[p + "self_attn.o_proj.weight"] = mat(d, H * D)
        w[p + "post_attention_layernorm.weight"] = norm_weight(d)
        w[p + "mlp.gate_up_proj.weight"] = mat(2 * f, d)
        w[p + "mlp.down_proj.weight"] = mat(d, f)
    w["model.norm.weight"] = norm_weight(d)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = mat(V, d, std=0.3)
    return w


def forward(cfg, w, ids, lora=None, lora_scale=1.0):
    assert not lora, "no LoRA reference for Phi-3"
    assert not cfg.get("rope_scaling"), "only default RoPE"
    B, T = ids.shape
    H, G, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim_of(cfg)
    eps = cfg["rms_norm_eps"]
    act = ACTIVATIONS[cfg["hidden_act"]]
    dtype = w["model.embed_tokens.weight"].dtype
    rotary_dim = int(D * cfg.get("partial_rotary_factor", 1.0))
    cos, sin = rope_cos_sin(default_inv_freq(cfg["rope_theta"], rotary_dim), T, dtype)
    mask = causal_mask(T, dtype, sliding_window=cfg.get("sliding_window"))

    def lin(x, name):
        return x @ w[name + ".weight"].T

    h = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rmsnorm(h, w[p + "input_layernorm.weight"], eps)
        qkv = lin(x, p + "self_attn.qkv_proj")
        q = qkv[..., :H * D].reshape(B, T, H, D).transpose(1, 2)
        k = qkv[..., H * D:(H + G) * D].reshape(B, T, G, D).transpose(1, 2)
        v = qkv[..., (H + G) * D:].reshape(B, T, G, D).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k = k.repeat_interleave(H // G, dim=1)  # repeat_kv
        v = v.repeat_interleave(H // G, dim=1)
        scores = (q @ k.transpose(-1, -2)) * D ** -0.5 + mask
        att = torch.softmax(scores, dim=-1) @ v
        h = h + lin(att.transpose(1, 2).reshape(B, T, H * D), p + "self_attn.o_proj")
        x = rmsnorm(h, w[p + "post_attention_layernorm.weight"], eps)
        gate, up = lin(x, p + "mlp.gate_up_proj").chunk(2, dim=-1)
        h = h + lin(up * act(gate), p + "mlp.down_proj")
    h = rmsnorm(h, w["model.norm.weight"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return h @ head.T
