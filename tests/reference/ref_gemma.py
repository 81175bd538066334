"""Gemma (v1) reference forward, from transformers' modeling_gemma.py with plain torch ops.

What differs from Llama:
- RMSNorm multiplies by (1 + w): the stored weights are zero-centred; computed in fp32 at least, then cast back
  to the input's dtype (GemmaRMSNorm: (x * w).to(dtype), not x.to(dtype) * w);
- the embeddings are multiplied by sqrt(hidden_size), a tensor in the hidden states' dtype;
- head_dim is its own config key (need not be hidden_size / heads);
- the MLP is GeGLU: down(act(gate(x)) * up(x)) with act = hidden_activation ("gelu_pytorch_tanh"); the
  config's hidden_act is ignored (real Gemma configs say "gelu" there);
- the output projection is tied to the embeddings.
"""
import torch

from ref_common import ACTIVATIONS, apply_rope, causal_mask, default_inv_freq, rope_cos_sin, weight_makers


def make_weights(cfg, gen, extra_norms=()):
    """Gemma's tensors; Gemma-2 passes its two extra per-layer norms in extra_norms."""
    d, f, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, G, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    assert cfg["tie_word_embeddings"] and not cfg.get("attention_bias", False)

    mat, norm_weight = weight_makers(gen, norm_centre=0.0)  # zero-centred: the norm multiplies by 1 + w

    w = {"model.embed_tokens.weight": mat(V, d)}  # not larger: the sqrt(d) scale would drown the layers
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm_weight(d)
        w[p + "self_attn.q_proj.weight"] = mat(H * D, d)
        w[p + "self_attn.k_proj.weight"] = mat(G * D, d)
        w[p + "self_attn.v_proj.weight"] = mat(G * D, d)
        w[p + "self_attn.o_proj.weight"] = mat(d, H * D)
        w[p + "post_attention_layernorm.weight"] = norm_weight(d)
        for name in extra_norms:
            w[p + name + ".weight"] = norm_weight(d)
        w[p + "mlp.gate_proj.weight"] = mat(f, d)
        w[p + "mlp.up_proj.weight"] = mat(f, d)
        w[p + "mlp.down_proj.weight"] = mat(d, f)
    w["model.norm.weight"] = norm_weight(d)
    return w


def gemma_rmsnorm(x, weight, eps):
    """GemmaRMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w) in fp32 at least, returned in x's dtype."""
    xf = x if x.dtype == torch.float64 else x.float()
    out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return (out * (1.0 + weight.to(xf.dtype))).to(x.dtype)


def embed_scaled(w, ids, hidden_size):
    """Embedding rows times sqrt(hidden_size), the normalizer a tensor in the hidden dtype as transformers has it."""
    h = w["model.embed_tokens.weight"][ids]
    return h * torch.tensor(hidden_size ** 0.5, dtype=h.dtype)


def forward(cfg, w, ids, lora=None, lora_scale=1.0):
    assert not lora, "no LoRA reference for Gemma"
    B, T = ids.shape
    d, H, G, D = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    act = ACTIVATIONS[cfg["hidden_activation"]]
    dtype = w["model.embed_tokens.weight"].dtype
    cos, sin = rope_cos_sin(default_inv_freq(cfg["rope_theta"], D), T, dtype)
    mask = causal_mask(T, dtype)

    def lin(x, name):
        return x @ w[name + ".weight"].T

    h = embed_scaled(w, ids, d)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = gemma_rmsnorm(h, w[p + "input_layernorm.weight"], eps)
        q = lin(x, p + "self_attn.q_proj").view(B, T, H, D).transpose(1, 2)
        k = lin(x, p + "self_attn.k_proj").view(B, T, G, D).transpose(1, 2)
        v = lin(x, p + "self_attn.v_proj").view(B, T, G, D).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k = k.repeat_interleave(H // G, dim=1)  # repeat_kv
        v = v.repeat_interleave(H // G, dim=1)
        scores = (q @ k.transpose(-1, -2)) * D ** -0.5 + mask
        att = torch.softmax(scores, dim=-1) @ v
        h = h + lin(att.transpose(1, 2).reshape(B, T, H * D), p + "self_attn.o_proj")
        x = gemma_rmsnorm(h, w[p + "post_attention_layernorm.weight"], eps)
        h = h + lin(act(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj"), p + "mlp.down_proj")
    h = gemma_rmsnorm(h, w["model.norm.weight"], eps)
    return h @ w["model.embed_tokens.weight"].T
