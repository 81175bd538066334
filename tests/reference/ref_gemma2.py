"""Gemma-2 reference forward, from transformers' modeling_gemma2.py with plain torch ops.

Gemma's pieces ((1 + w) RMSNorm, sqrt(hidden_size) embedding scale, GeGLU, tied head, head_dim key) plus:
- four norms per layer: input_layernorm before attention, post_attention_layernorm on the attention output
  (before the residual add), pre_feedforward_layernorm before the MLP, post_feedforward_layernorm on its output;
- attention scores scaled by query_pre_attn_scalar^-0.5 (not head_dim^-0.5), then soft-capped
  cap * tanh(s / cap) with attn_logit_softcapping, before the mask;
- sliding-window attention on layers i with i % 2 == 0 (key j visible from query t iff j <= t and
  t - j < sliding_window), global causal attention on the others;
- final logits soft-capped with final_logit_softcapping.
"""
import torch

import ref_gemma
from ref_common import ACTIVATIONS, apply_rope, causal_mask, default_inv_freq, rope_cos_sin
from ref_gemma import embed_scaled, gemma_rmsnorm


def make_weights(cfg, gen):
    return ref_gemma.make_weights(cfg, gen, extra_norms=("pre_feedforward_layernorm", "post_feedforward_layernorm"))


def softcap(x, cap):
    return torch.tanh(x / cap) * cap


def forward(cfg, w, ids, lora=None, lora_scale=1.0):
    assert not lora, "no LoRA reference for Gemma-2"
    B, T = ids.shape
    d, H, G, D = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    act = ACTIVATIONS[cfg["hidden_activation"]]
    scale = cfg["query_pre_attn_scalar"] ** -0.5
    dtype = w["model.embed_tokens.weight"].dtype
    cos, sin = rope_cos_sin(default_inv_freq(cfg["rope_theta"], D), T, dtype)
    global_mask = causal_mask(T, dtype)
    sliding_mask = causal_mask(T, dtype, sliding_window=cfg["sliding_window"])

    def lin(x, name):
        return x @ w[name + ".weight"].T

    def norm(x, name):
        return gemma_rmsnorm(x, w[name + ".weight"], eps)

    def attention(x, p, mask):
        q = lin(x, p + "self_attn.q_proj").view(B, T, H, D).transpose(1, 2)
        k = lin(x, p + "self_attn.k_proj").view(B, T, G, D).transpose(1, 2)
        v = lin(x, p + "self_attn.v_proj").view(B, T, G, D).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k = k.repeat_interleave(H // G, dim=1)  # repeat_kv
        v = v.repeat_interleave(H // G, dim=1)
        scores = (q @ k.transpose(-1, -2)) * scale
        scores = softcap(scores, cfg["attn_logit_softcapping"]) + mask
        att = torch.softmax(scores, dim=-1) @ v
        return lin(att.transpose(1, 2).reshape(B, T, H * D), p + "self_attn.o_proj")

    h = embed_scaled(w, ids, d)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        mask = sliding_mask if i % 2 == 0 else global_mask
        h = h + norm(attention(norm(h, p + "input_layernorm"), p, mask), p + "post_attention_layernorm")
        x = norm(h, p + "pre_feedforward_layernorm")
        mlp = lin(act(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj"), p + "mlp.down_proj")
        h = h + norm(mlp, p + "post_feedforward_layernorm")
    h = norm(h, "model.norm")
    return softcap(h @ w["model.embed_tokens.weight"].T, cfg["final_logit_softcapping"])
