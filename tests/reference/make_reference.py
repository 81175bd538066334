#!/usr/bin/env python3
"""Writes PyTorch reference outputs for Tandem's model parity test.

For each architecture variant: a random tiny model (config.json + model.safetensors, fp32 weights, Hugging Face
tensor names), a padded batch with a loss mask, and -- computed in float64 from those exact fp32 weights -- logits,
per-token log-probs, per-sequence sums and the gradient of every parameter for loss = sum_b c_b * logp_b (random
c_b, as DPO weights its sequences). Each variant also comes as <name>_bf16: bf16 weights run under CPU autocast.

The forwards follow transformers' modeling code, one family per file:
  ref_llama.py    Llama (llama3 rope scaling), Mistral, Qwen2, Qwen3
  ref_gpt_neox.py GPT-NeoX / Pythia: LayerNorm, fused per-head qkv, partial rotary, parallel or sequential residual
  ref_gemma.py    Gemma: (1 + w) RMSNorm, sqrt(d) embedding scale, GeGLU, head_dim key, tied head
  ref_gemma2.py   Gemma-2: Gemma plus four norms a layer, score and logit soft-capping, sliding window on even layers
  ref_phi3.py     Phi-3: fused qkv_proj and gate_up_proj, partial rotary
Also: LoRA references (Qwen2 on q/v/o/gate/down; GPT-NeoX on the fused query_key_value and dense_4h_to_h), five
AdamW steps, the preference losses, and multiple-choice log-likelihoods (ref_multiple_choice.py). check_reference.py cross-checks the forwards against each other.

Only the Debian python3-torch package is needed (no transformers, no safetensors). The output folder's STAMP
holds a hash of every .py file here, so editing any of them regenerates everything.
"""
import argparse
import glob
import hashlib
import json
import os

import torch

import ref_gemma
import ref_gemma2
import ref_gpt_neox
import ref_llama
import ref_multiple_choice
import ref_phi3
from ref_common import write_safetensors

# model_type -> the module with that family's make_weights(cfg, gen) and forward(cfg, w, ids, lora, lora_scale)
FAMILIES = {"llama": ref_llama, "mistral": ref_llama, "qwen2": ref_llama, "qwen3": ref_llama,
            "gpt_neox": ref_gpt_neox, "gemma": ref_gemma, "gemma2": ref_gemma2, "phi3": ref_phi3}

SIZES = dict(vocab_size=96, hidden_size=32, intermediate_size=56, num_hidden_layers=2)
LLAMA_BASE = dict(SIZES, rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=64, hidden_act="silu")
GPT_NEOX_BASE = dict(SIZES, model_type="gpt_neox", architectures=["GPTNeoXForCausalLM"], max_position_embeddings=64,
                     layer_norm_eps=1e-5, rotary_emb_base=10000, attention_bias=True, tie_word_embeddings=False)
GEMMA_BASE = dict(SIZES, rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=64, attention_bias=False,
                  tie_word_embeddings=True)


def variant(seed, base, **overrides):
    """A variant's config (base, then overrides) and the seed of its weights and batch (its bf16 twin: seed + 1000)."""
    return dict(seed=seed, config=dict(base, **overrides))


VARIANTS = {
    "llama_gqa": variant(1001, LLAMA_BASE, model_type="llama", architectures=["LlamaForCausalLM"],
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False),
    "llama3_scaled_tied_bias": variant(
        1000, LLAMA_BASE, model_type="llama", architectures=["LlamaForCausalLM"], num_attention_heads=4,
        num_key_value_heads=1, tie_word_embeddings=True, attention_bias=True, rope_theta=500000.0,
        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                          original_max_position_embeddings=16)),
    "mistral": variant(1002, LLAMA_BASE, model_type="mistral", architectures=["MistralForCausalLM"],
                       num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=False, sliding_window=4096),
    "qwen2": variant(1003, LLAMA_BASE, model_type="qwen2", architectures=["Qwen2ForCausalLM"], num_attention_heads=4,
                     num_key_value_heads=2, tie_word_embeddings=False, rope_theta=1000000.0),
    "qwen3": variant(1004, LLAMA_BASE, model_type="qwen3", architectures=["Qwen3ForCausalLM"], num_attention_heads=4,
                     num_key_value_heads=2, head_dim=12, tie_word_embeddings=True, attention_bias=False,
                     rope_theta=1000000.0),
    # head_size 8, half of it rotary, x + attn(ln1 x) + mlp(ln2 x), exact gelu
    "gpt_neox_parallel": variant(1005, GPT_NEOX_BASE, num_attention_heads=4, rotary_pct=0.5,
                                 use_parallel_residual=True, hidden_act="gelu"),
    # head_size 16, a quarter rotary, sequential residual, tanh gelu
    "gpt_neox_sequential": variant(1006, GPT_NEOX_BASE, num_attention_heads=2, rotary_pct=0.25,
                                   use_parallel_residual=False, hidden_act="gelu_new"),
    # MQA with head_dim 12 != 32 / 4; hidden_act says "gelu" as real Gemma configs do, hidden_activation rules
    "gemma": variant(1007, GEMMA_BASE, model_type="gemma", architectures=["GemmaForCausalLM"], num_attention_heads=4,
                     num_key_value_heads=1, head_dim=12, hidden_act="gelu", hidden_activation="gelu_pytorch_tanh"),
    # caps and window small enough to bite on this batch (sequences of 11, scores and logits of a few units)
    "gemma2": variant(1008, GEMMA_BASE, model_type="gemma2", architectures=["Gemma2ForCausalLM"],
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8, hidden_act="gelu_pytorch_tanh",
                      hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=10, attn_logit_softcapping=5.0,
                      final_logit_softcapping=3.0, sliding_window=4, cache_implementation="hybrid"),
    # rotary over 6 of 8 channels; no head_dim key (Phi-3 configs derive it), no sliding window
    "phi3": variant(1009, LLAMA_BASE, model_type="phi3", architectures=["Phi3ForCausalLM"], num_attention_heads=4,
                    num_key_value_heads=2, rms_norm_eps=1e-5, partial_rotary_factor=0.75, rope_scaling=None,
                    sliding_window=None, original_max_position_embeddings=64, attention_bias=False,
                    tie_word_embeddings=False),
}
BATCH, SEQ = 3, 11
LENGTHS = [11, 8, 5]


def padded_batch(cfg, gen, prompt_len):
    """Random ids [BATCH, SEQ] right-padded with id 0 to LENGTHS, and the loss mask scoring tokens prompt_len..n-1."""
    ids = torch.randint(0, cfg["vocab_size"], (BATCH, SEQ), generator=gen, dtype=torch.int64)
    mask = torch.zeros(BATCH, SEQ, dtype=torch.uint8)
    for b, n in enumerate(LENGTHS):
        mask[b, prompt_len:n] = 1
        ids[b, n:] = 0
    return ids, mask


def write_variant(out_dir, name, cfg, seed):
    family = FAMILIES[cfg["model_type"]]
    gen = torch.Generator().manual_seed(seed)
    weights32 = family.make_weights(cfg, gen)
    ids, mask = padded_batch(cfg, gen, prompt_len=2)  # the first two tokens are "prompt"
    lengths = torch.tensor(LENGTHS, dtype=torch.int32)
    mask[1, 4] = 0  # a hole in the middle of a response
    coef = torch.randn(BATCH, generator=gen, dtype=torch.float64)

    # float64 from the exact fp32 values
    w64 = {k: v.double().requires_grad_(True) for k, v in weights32.items()}
    logits = family.forward(cfg, w64, ids)
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


def write_bf16_variant(out_dir, name, cfg, seed):
    """The variant's model with weights rounded to bf16 (written as a BF16 safetensors file), run under PyTorch CPU
    autocast(bfloat16): matmuls in bf16, the residual stream and norm statistics in fp32, as HF modelling code runs
    under autocast (Gemma's norms return their input's dtype, as GemmaRMSNorm does: Gemma-2's post-attention and
    post-feedforward norms, fed bf16 matmul outputs, round to bf16). Logits are upcast to fp32 before log_softmax.
    Expected: logits, log-probs and the fp32 weights' gradients of sum_b c_b * logp_b."""
    family = FAMILIES[cfg["model_type"]]
    gen = torch.Generator().manual_seed(seed)
    weights16 = {k: v.bfloat16() for k, v in family.make_weights(cfg, gen).items()}
    ids, mask = padded_batch(cfg, gen, prompt_len=2)
    coef = torch.randn(BATCH, generator=gen, dtype=torch.float64)
    w32 = {k: v.float().requires_grad_(True) for k, v in weights16.items()}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = family.forward(cfg, w32, ids).float()
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


def write_lora_reference(out_dir, folder, base_variant, modules, seed):
    """The base variant's model with LoRA (r=4, alpha=8) on the given modules ("{i}" stands for the layer), A and B
    both random, written as a base model folder plus a PEFT adapter folder (keys base_model.model.<module>.lora_A/B
    .weight, target_modules the modules' last names); expected logits, log-probs and gradients of every A and B."""
    cfg = VARIANTS[base_variant]["config"]
    family = FAMILIES[cfg["model_type"]]
    gen = torch.Generator().manual_seed(seed)
    weights32 = family.make_weights(cfg, gen)
    r, alpha = 4, 8.0
    adapter32, lora = {}, {}
    for i in range(cfg["num_hidden_layers"]):
        for module in modules:
            name = module.format(i=i)
            out_dim, in_dim = weights32[name + ".weight"].shape
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
    logits = family.forward(cfg, w64, ids, lora, alpha / r)
    tok = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1) * mask[:, 1:].double()
    seq_logp = tok.sum(1)
    (coef * seq_logp).sum().backward()
    vdir = os.path.join(out_dir, folder)
    os.makedirs(os.path.join(vdir, "adapter"), exist_ok=True)
    with open(os.path.join(vdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(vdir, "model.safetensors"), weights32)
    write_safetensors(os.path.join(vdir, "adapter", "adapter_model.safetensors"), adapter32)
    targets = [m.rsplit(".", 1)[1] for m in modules]
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


def source_stamp():
    """A hash of every generator source here (this file and the ref_*.py it imports) plus the torch version."""
    here = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(here, "*.py"))):
        h.update(os.path.basename(path).encode() + b"\0" + open(path, "rb").read())
    return h.hexdigest() + " torch " + torch.__version__


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    stamp_path = os.path.join(args.out, "STAMP")
    stamp = source_stamp()
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp:
        return  # up to date
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    for name, v in sorted(VARIANTS.items()):
        write_variant(args.out, name, v["config"], seed=v["seed"])
        write_bf16_variant(args.out, name, v["config"], seed=v["seed"] + 1000)
    write_optimizer_reference(args.out)
    write_lora_reference(args.out, "lora", "qwen2", seed=77,
                         modules=["model.layers.{i}.self_attn.q_proj", "model.layers.{i}.self_attn.v_proj",
                                  "model.layers.{i}.self_attn.o_proj", "model.layers.{i}.mlp.gate_proj",
                                  "model.layers.{i}.mlp.down_proj"])
    write_lora_reference(args.out, "lora_gpt_neox", "gpt_neox_parallel", seed=78,
                         modules=["gpt_neox.layers.{i}.attention.query_key_value",
                                  "gpt_neox.layers.{i}.mlp.dense_4h_to_h"])
    write_objectives_reference(args.out)
    mc = VARIANTS["llama_gqa"]  # its weights are the first draw of write_variant's generator
    ref_multiple_choice.write_reference(args.out, ref_llama, mc["config"],
                                        ref_llama.make_weights(mc["config"], torch.Generator().manual_seed(mc["seed"])))
    with open(stamp_path, "w") as f:
        f.write(stamp)
    print(f"reference: wrote {len(VARIANTS)} variants to {args.out} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
