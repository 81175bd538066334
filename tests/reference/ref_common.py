"""Small pieces every reference architecture uses: the safetensors writer, RoPE tables and rotation, the causal
mask and the activations, each written from Hugging Face's definitions with plain torch ops.

The forwards themselves live one family per file (ref_llama.py, ref_gpt_neox.py, ref_gemma.py, ref_phi3.py) so
each reads top to bottom like its modeling_*.py; only what is identical in all of them is shared here.
"""
import json
import math
import os
import struct

import torch


def write_safetensors(path, tensors, metadata=None):
    """safetensors' layout (8-byte little-endian header size, JSON header, raw little-endian data), so no package
    is needed; BF16 is written as its 16-bit pattern. Shared by the references, the torch bench and the interop
    check."""
    kinds = {torch.float64: "F64", torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16",
             torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}
    header, blobs, offset = ({"__metadata__": metadata} if metadata else {}), [], 0
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


def default_inv_freq(base, rotary_dim):
    """transformers' _compute_default_rope_parameters: 1 / base^(2i/dim) over the rotated width only, in fp32."""
    return 1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=torch.int64).float() / rotary_dim))


def rope_cos_sin(inv_freq, T, dtype):
    """cos/sin [T, rotary_dim] for positions 0..T-1, computed in fp32 (as transformers forces) then cast."""
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, cos, sin):
    """Rotates the first cos.shape[-1] channels of each head (non-interleaved halves) and passes the rest through:
    partial rotary as GPT-NeoX and Phi-3 apply it; with a full-width cos it is Llama's apply_rotary_pos_emb."""
    r = cos.shape[-1]
    rot, keep = x[..., :r], x[..., r:]
    return torch.cat((rot * cos + rotate_half(rot) * sin, keep), dim=-1)


def causal_mask(T, dtype, sliding_window=None):
    """Additive [T, T] mask: key j is visible from query t iff j <= t and, with a window W, t - j < W
    (transformers' causal_mask_function and sliding_window_overlay: kv_idx > q_idx - sliding_window)."""
    t = torch.arange(T).unsqueeze(1)
    j = torch.arange(T).unsqueeze(0)
    visible = j <= t
    if sliding_window is not None:
        visible = visible & (t - j < sliding_window)
    return torch.zeros(T, T, dtype=dtype).masked_fill(~visible, float("-inf"))


def gelu_new(x):
    """ACT2FN["gelu_new"] (NewGELUActivation), written as transformers writes it, so bf16 rounds step by step."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


# ACT2FN names -> functions. "gelu" is the exact erf form (GELUActivation calls nn.functional.gelu);
# "gelu_pytorch_tanh" is nn.functional.gelu(approximate="tanh"), the same function as gelu_new in exact arithmetic.
ACTIVATIONS = {
    "gelu": torch.nn.functional.gelu,
    "gelu_new": gelu_new,
    "gelu_pytorch_tanh": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "silu": torch.nn.functional.silu,
}


def weight_makers(gen, norm_centre=1.0):
    """The reference models' random weights, drawn from gen in call order: mat(*shape, std) has N(0, std^2)
    entries; norm_weight(n) is norm_centre + N(0, 0.01) (1 for a norm that multiplies by w, 0 for Gemma's 1 + w)."""

    def mat(*shape, std=0.15):
        return torch.randn(*shape, generator=gen) * std

    def norm_weight(n):
        return norm_centre + 0.1 * torch.randn(n, generator=gen)

    return mat, norm_weight


def rmsnorm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
