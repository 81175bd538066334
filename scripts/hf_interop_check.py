#!/usr/bin/env python3
"""Checks that Tandem's checkpoints and logits agree with Hugging Face transformers and PEFT, both ways.

  check-model MODEL_DIR --tandem-logits F [--input-ids F]
      Loads a model folder Tandem saved (config.json + safetensors) with AutoModelForCausalLM, runs it on the
      token ids and compares its logits with the ones Tandem wrote (a safetensors file, tensor "logits",
      [batch, seq, vocab] or [batch * seq, vocab], F32 or BF16).
  check-adapter BASE_DIR ADAPTER_DIR --tandem-logits F [--input-ids F]
      The same with a PEFT adapter folder Tandem saved, applied with PeftModel.from_pretrained on the base.
  save-model OUT_DIR [--arch qwen3] [--dtype f32|bf16] [--adapter]
      A tiny random model written by transformers' save_pretrained (the tests' reference weights, loaded into the
      transformers model by name, so a naming mismatch fails here), plus input_ids.json and the transformers
      logits on them (hf_logits.safetensors); with --adapter also a PEFT adapter written by PEFT's
      save_pretrained in OUT_DIR/adapter with its logits. Tandem loads these and compares with `compare`.
  compare EXPECTED_LOGITS GOT_LOGITS [--input-ids F]
      Two logits files, e.g. save-model's hf_logits.safetensors against Tandem's logits on input_ids.json.

Input ids: a JSON list of rows of token ids ([[1, 2, 3], [4, 5]]: ragged rows are right-padded and their padding
is not compared), or {"input_ids": [[...]], "attention_mask": [[...]]}; when --input-ids is omitted, an "input_ids"
or "tokens" tensor in the Tandem logits file is used.

The measure is the parity tests' (tests/reference_data.h): max |got - expected| over the real positions divided by
max |expected|. Tolerances, by how the reference runs (--compute; auto: f32 for a float32 checkpoint, else
bf16-autocast): f32 1e-4 (the parity tests' 1e-5, widened for deeper and wider models), bf16-autocast 2e-2 (the
parity tests' kBf16LogitTol: bf16 weights, fp32 master compute under autocast, as Tandem's bf16 mode), bf16 5e-2
(pure bf16 transformers, which also rounds the residual stream Tandem keeps in fp32); with an adapter the bf16
bounds are 3e-2 and 6e-2 (the reference rounds the LoRA products too). --tol overrides.

Without transformers/peft (as on the CPU build machines) the reference is the tests' plain-torch forwards
(tests/reference/ref_*.py, the same models the parity tests check Tandem against), so every subcommand still runs;
the output says which ran ("impl"). Exit status: 0 pass, 1 fail, 2 bad arguments or files.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import make_reference  # noqa: E402  the parity tests' reference models: the fallback, and save-model's weights
from ref_common import write_safetensors  # noqa: E402  one writer, with metadata, no package needed

try:
    import transformers
except ImportError:
    transformers = None
try:
    import peft
except ImportError:
    peft = None

WHAT_RAN = {"transformers": "transformers", "reference": "the tests' reference forwards", "file": "the file"}
TOLERANCES = {"f32": 1e-4, "bf16-autocast": 2e-2, "bf16": 5e-2}
# With an adapter the reference also rounds the LoRA products to bf16: measured up to 1.95e-2 (Qwen2, bf16-autocast)
# between Tandem's bf16 and the autocast reference on save-model's adapters, so the bf16 bounds widen.
ADAPTER_TOLERANCES = {"f32": 1e-4, "bf16-autocast": 3e-2, "bf16": 6e-2}
LORA_TARGETS = {"gpt_neox": ["query_key_value", "dense_4h_to_h"]}  # others: Llama-style names
DEFAULT_LORA_TARGETS = ["q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"]


class Bad(Exception):
    """A bad argument or file: exit status 2."""


# ---- files ----

ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
             "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path, metadata=None):
    """name -> torch tensor (BF16 widened to float32), with no package needed: 8-byte header size, JSON, data.
    metadata, when given (a dict), receives the file's __metadata__."""
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            data = f.read()
    except (OSError, struct.error, ValueError) as e:
        raise Bad(f"{path}: not a readable safetensors file ({e})")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            if metadata is not None:
                metadata.update(info)
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":  # the top half of a float32
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif info["dtype"] in ST_DTYPES:
            arr = np.frombuffer(raw, dtype=ST_DTYPES[info["dtype"]])
        else:
            raise Bad(f"{path}: tensor {name} has dtype {info['dtype']}, which this script does not read")
        out[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return out


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise Bad(f"{path}: {e}")


def read_input_ids(path, logits_file_tensors=None):
    """ids [B, T] int64 (ragged rows right-padded with 0) and mask [B, T] bool of the real positions."""
    if path is None:
        for key in ("input_ids", "tokens"):
            if logits_file_tensors and key in logits_file_tensors:
                ids = logits_file_tensors[key].long()
                return ids, torch.ones_like(ids, dtype=torch.bool)
        raise Bad("no --input-ids, and the logits file has no input_ids or tokens tensor")
    j = read_json(path)
    rows, mask_rows = (j.get("input_ids"), j.get("attention_mask")) if isinstance(j, dict) else (j, None)
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
        raise Bad(f"{path}: expected a non-empty list of non-empty rows of token ids")
    T = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), T, dtype=torch.int64)
    mask = torch.zeros(len(rows), T, dtype=torch.bool)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.tensor(r, dtype=torch.int64)
        mask[b, :len(r)] = True
    if mask_rows is not None:
        given = torch.tensor(mask_rows, dtype=torch.bool)
        if given.shape != mask.shape:
            raise Bad(f"{path}: attention_mask has shape {list(given.shape)}, input_ids {list(mask.shape)}")
        mask &= given
    return ids, mask


def read_logits(path, tensors, batch, seq):
    """The 'logits' tensor of a file's tensors as [batch, seq, vocab] float32."""
    if "logits" not in tensors:
        raise Bad(f"{path}: no tensor named 'logits' (has: {', '.join(sorted(tensors))})")
    logits = tensors["logits"].float()
    if logits.dim() == 2 and logits.shape[0] == batch * seq:  # Tandem's DecoderModel::logits layout
        logits = logits.view(batch, seq, -1)
    if logits.dim() != 3 or tuple(logits.shape[:2]) != (batch, seq):
        raise Bad(f"{path}: logits have shape {list(logits.shape)}; the ids are [{batch}, {seq}]")
    return logits


def checkpoint_dtype(model_dir):
    cfg = read_json(os.path.join(model_dir, "config.json"))
    return cfg.get("torch_dtype") or cfg.get("dtype") or "float32"


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


# ---- the reference models ----

def autocast(compute, device):
    if compute == "bf16-autocast":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def hf_dtype_kwarg(dtype):
    """transformers >= 4.56 (and 5.x) names the dtype argument `dtype`; older releases `torch_dtype`."""
    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def hf_load(model_dir, compute, device):
    """The transformers model of the folder: fp32 weights (a bf16 checkpoint widens exactly) for f32 and
    bf16-autocast, bf16 weights for bf16; eager attention, so no fused kernel changes the arithmetic."""
    dtype = torch.bfloat16 if compute == "bf16" else torch.float32
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="eager",
                                                              **hf_dtype_kwarg(dtype))
    return model.to(device).eval()


def hf_logits(model, ids, mask, compute, device):
    with torch.no_grad(), autocast(compute, device):
        out = model(input_ids=ids.to(device), attention_mask=mask.long().to(device), use_cache=False)
    return out.logits.float().cpu()


def reference_config(model_dir):
    """config.json for the tests' reference forwards: transformers 5's rope_parameters mapped back to rope_theta
    and rope_scaling, the keys those forwards (and Tandem) read."""
    cfg = read_json(os.path.join(model_dir, "config.json"))
    rp = cfg.get("rope_parameters")
    if isinstance(rp, dict):
        cfg.setdefault("rope_theta", rp.get("rope_theta", 10000.0))
        if rp.get("rope_type", "default") != "default" and not cfg.get("rope_scaling"):
            cfg["rope_scaling"] = {k: v for k, v in rp.items() if k != "rope_theta"}
    if cfg.get("model_type") not in make_reference.FAMILIES:
        raise Bad(f"{model_dir}: model_type {cfg.get('model_type')!r} has no reference forward here "
                  f"(of {', '.join(make_reference.FAMILIES)})")
    if cfg.get("rope_scaling") and cfg["rope_scaling"].get("rope_type", cfg["rope_scaling"].get("type")) != "llama3":
        raise Bad(f"{model_dir}: the reference forwards implement llama3 rope scaling only")
    return cfg


def reference_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        w = {}
        for shard in sorted(set(read_json(index)["weight_map"].values())):
            w.update(read_safetensors(os.path.join(model_dir, shard)))
        return w
    return read_safetensors(os.path.join(model_dir, "model.safetensors"))


def reference_logits(cfg, weights, ids, compute, lora=None, lora_scale=1.0):
    """The tests' reference forward: float64 for f32 (the exact values Tandem's fp32 should approach), fp32
    weights under CPU autocast(bf16) for the bf16 modes (as make_reference.py's bf16 variants)."""
    family = make_reference.FAMILIES[cfg["model_type"]]
    dt = torch.float64 if compute == "f32" else torch.float32
    w = {k: v.to(dt) for k, v in weights.items()}
    lo = {k: (a.to(dt), b.to(dt)) for k, (a, b) in (lora or {}).items()}
    try:
        with torch.no_grad(), autocast("bf16-autocast" if compute != "f32" else "f32", torch.device("cpu")):
            return family.forward(cfg, w, ids, lo, lora_scale).float()
    except AssertionError as e:  # e.g. "no LoRA reference for Gemma"
        raise Bad(f"the tests' reference forward of {cfg['model_type']}: {e}")


def adapter_tensors(adapter_dir):
    """PEFT's adapter folder as the reference forwards take it: {module: (A, B)} and the scale alpha / r."""
    cfg = read_json(os.path.join(adapter_dir, "adapter_config.json"))
    if cfg.get("peft_type") != "LORA" or cfg.get("use_dora"):
        raise Bad(f"{adapter_dir}: only plain LoRA adapters are supported")
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    t = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    lora = {}
    for k, a in t.items():
        if k.endswith(".lora_A.weight"):
            name = k[len("base_model.model."):-len(".lora_A.weight")]
            lora[name] = (a, t[k.replace(".lora_A.weight", ".lora_B.weight")])
    return lora, scale


# ---- the comparison ----

def compare(expected, got, mask, tol):
    """The parity tests' measure over the real positions, plus log-prob and argmax agreement for context."""
    keep = mask.unsqueeze(-1).expand_as(expected)
    e, g = expected[keep].double(), got[keep].double()
    diff = (g - e).abs()
    scale = max(float(e.abs().max()), 1e-12)
    le = torch.log_softmax(expected.double(), -1)[mask]
    lg = torch.log_softmax(got.double(), -1)[mask]
    argmax_same = (expected.argmax(-1) == got.argmax(-1))[mask].double().mean()
    finite = bool(torch.isfinite(g).all())
    rel = float(diff.max()) / scale
    return {"max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()), "max_abs_expected": scale,
            "max_rel_diff": rel, "max_logprob_abs_diff": float((lg - le).abs().max()),
            "argmax_agreement": float(argmax_same), "positions": int(mask.sum()), "finite": finite,
            "tol": tol, "pass": finite and rel <= tol}


def report(what, impl, compute, result):
    verdict = "PASS" if result["pass"] else "FAIL"
    print(f"{what}: {verdict}  max|diff| {result['max_abs_diff']:.3e} over max|expected| "
          f"{result['max_abs_expected']:.3e} = {result['max_rel_diff']:.3e} (tol {result['tol']:.1e}, {compute}, "
          f"expected from {WHAT_RAN[impl]}); log-prob max|diff| {result['max_logprob_abs_diff']:.3e}, argmax agreement "
          f"{100 * result['argmax_agreement']:.2f}% over {result['positions']} positions"
          + ("" if result["finite"] else "; NON-FINITE values in the Tandem logits"))
    print(json.dumps(dict(result, check=what, impl=impl, compute=compute)))
    return 0 if result["pass"] else 1


def choose_impl(a, need_peft=False):
    have = transformers is not None and (peft is not None or not need_peft)
    if a.impl == "auto":
        return "transformers" if have else "reference"
    if a.impl == "transformers" and not have:
        raise Bad("--impl transformers: transformers" + (" and peft" if need_peft else "") + " not importable")
    return a.impl


def choose_compute(a, model_dir):
    if a.compute != "auto":
        return a.compute
    return "f32" if checkpoint_dtype(model_dir) in ("float32", "f32") else "bf16-autocast"


# ---- subcommands ----

def cmd_check_model(a):
    impl, compute, device = choose_impl(a), choose_compute(a, a.model_dir), torch.device(a.device)
    tandem = read_safetensors(a.tandem_logits)
    ids, mask = read_input_ids(a.input_ids, tandem)
    got = read_logits(a.tandem_logits, tandem, *ids.shape)
    if impl == "transformers":
        expected = hf_logits(hf_load(a.model_dir, compute, device), ids, mask, compute, device)
    else:
        expected = reference_logits(reference_config(a.model_dir), reference_weights(a.model_dir), ids, compute)
    tol = a.tol if a.tol is not None else TOLERANCES[compute]
    return report(f"check-model {a.model_dir}", impl, compute, compare(expected, got, mask, tol))


def cmd_check_adapter(a):
    impl, compute, device = choose_impl(a, need_peft=True), choose_compute(a, a.base_dir), torch.device(a.device)
    tandem = read_safetensors(a.tandem_logits)
    ids, mask = read_input_ids(a.input_ids, tandem)
    got = read_logits(a.tandem_logits, tandem, *ids.shape)
    if impl == "transformers":
        base = hf_load(a.base_dir, compute, device)
        model = peft.PeftModel.from_pretrained(base, a.adapter_dir).to(device).eval()
        expected = hf_logits(model, ids, mask, compute, device)
    else:
        lora, scale = adapter_tensors(a.adapter_dir)
        expected = reference_logits(reference_config(a.base_dir), reference_weights(a.base_dir), ids, compute,
                                    lora, scale)
    tol = a.tol if a.tol is not None else ADAPTER_TOLERANCES[compute]
    return report(f"check-adapter {a.adapter_dir} on {a.base_dir}", impl, compute,
                  compare(expected, got, mask, tol))


def cmd_compare(a):
    meta = {}
    exp_t, got_t = read_safetensors(a.expected, meta), read_safetensors(a.got)
    ids, mask = read_input_ids(a.input_ids, dict(exp_t, **got_t))
    expected = read_logits(a.expected, exp_t, *ids.shape)
    got = read_logits(a.got, got_t, *ids.shape)
    # auto: how save-model computed the expected logits (its metadata says), else f32
    compute = a.compute if a.compute != "auto" else meta.get("compute", "f32")
    if compute not in TOLERANCES:
        raise Bad(f"{a.expected}: metadata compute {compute!r} is not one of {', '.join(TOLERANCES)}")
    tol = a.tol if a.tol is not None else (ADAPTER_TOLERANCES if meta.get("adapter") == "yes" else TOLERANCES)[compute]
    return report(f"compare {a.got} with {a.expected}", "file", compute, compare(expected, got, mask, tol))


def random_lora(cfg, weights, targets, gen, r=4):
    """{module: (A, B)} for every layer's modules whose last name is in targets, both random (PEFT starts B at 0,
    which would make any adapter loader look right). B is small enough that the adapters shift the logits by
    about as much as a trained adapter would relative to the base, not more: a larger B makes bf16 runs differ
    from each other by more than bf16's own tolerance (A 0.3 and B 0.3 put 4% between autocast and exact)."""
    lora = {}
    for name, w in weights.items():
        module = name[:-len(".weight")]
        if name.endswith(".weight") and w.dim() == 2 and module.rsplit(".", 1)[-1] in targets \
                and ".layers." in module:
            out_dim, in_dim = w.shape
            lora[module] = (torch.randn(r, in_dim, generator=gen) * 0.3, torch.randn(out_dim, r, generator=gen) * 0.1)
    if not lora:
        raise Bad(f"no module of {cfg['model_type']} is named one of {targets}")
    return lora


def write_logits(path, logits, ids, impl, compute, adapter=False):
    """A logits file as `compare` reads it: logits, the ids, and how they were computed (metadata)."""
    write_safetensors(path, {"logits": logits, "input_ids": ids.to(torch.int32)},
                      {"format": "pt", "impl": impl, "compute": compute, "adapter": "yes" if adapter else "no"})


def cmd_save_model(a):
    impl = choose_impl(a, need_peft=a.adapter)
    variants = make_reference.VARIANTS
    if a.arch not in variants:
        raise Bad(f"--arch {a.arch!r}: one of {', '.join(sorted(variants))}")
    cfg = dict(variants[a.arch]["config"])
    family = make_reference.FAMILIES[cfg["model_type"]]
    gen = torch.Generator().manual_seed(a.seed)
    weights = family.make_weights(cfg, gen)  # the parity tests' scale: attention patterns and logits of a few units
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    weights = {k: v.to(dtype) for k, v in weights.items()}
    compute = "bf16-autocast" if a.dtype == "bf16" else "f32"
    ids = torch.randint(0, cfg["vocab_size"], (a.batch, a.seq), generator=gen)
    mask = torch.ones_like(ids, dtype=torch.bool)
    os.makedirs(a.out_dir, exist_ok=True)
    targets = a.targets.split(",") if a.targets else LORA_TARGETS.get(cfg["model_type"], DEFAULT_LORA_TARGETS)
    lora = random_lora(cfg, weights, targets, gen) if a.adapter else None
    adapter_dir = os.path.join(a.out_dir, "adapter")
    device = torch.device(a.device)
    base_logits = os.path.join(a.out_dir, "hf_logits.safetensors")
    adapter_logits = os.path.join(a.out_dir, "hf_logits_adapter.safetensors")

    if impl == "transformers":
        config = transformers.AutoConfig.for_model(**cfg)
        model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager",
                                                              **hf_dtype_kwarg(torch.float32))
        # By name, strictly: a tensor transformers does not know, or one it lacks (besides a tied head), is an error.
        missing, unexpected = model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=False)
        tied_head = {"lm_head.weight"} if cfg.get("tie_word_embeddings") else set()
        if unexpected or set(missing) - tied_head:
            raise Bad(f"reference names vs transformers: missing {sorted(set(missing) - tied_head)}, "
                      f"unexpected {sorted(unexpected)}")
        if tied_head:
            model.tie_weights()
        model = model.to(device).eval()
        write_logits(base_logits, hf_logits(model, ids, mask, compute, device), ids, impl, compute)
        model.to(dtype).save_pretrained(a.out_dir)  # transformers' own config.json and safetensors
        model.float()
        if a.legacy_rope_keys:
            add_legacy_rope_keys(a.out_dir, cfg)
        if lora is not None:
            lc = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, bias="none", target_modules=targets,
                                 task_type="CAUSAL_LM")
            pm = peft.get_peft_model(model, lc)
            set_peft_tensors(pm, lora)
            write_logits(adapter_logits, hf_logits(pm, ids, mask, compute, device), ids, impl, compute, True)
            pm.save_pretrained(adapter_dir)
    else:
        # both logits first: a variant whose reference forward has no LoRA fails before any file is written
        logits = reference_logits(cfg, weights, ids, compute)
        logits_lora = reference_logits(cfg, weights, ids, compute, lora, 2.0) if lora is not None else None
        with open(os.path.join(a.out_dir, "config.json"), "w") as f:
            json.dump(dict(cfg, torch_dtype="bfloat16" if a.dtype == "bf16" else "float32"), f, indent=2)
        write_safetensors(os.path.join(a.out_dir, "model.safetensors"), weights, {"format": "pt"})
        write_logits(base_logits, logits, ids, impl, compute)
        if lora is not None:  # PEFT's layout, as make_reference.write_lora_reference writes it
            os.makedirs(adapter_dir, exist_ok=True)
            t = {}
            for m, (la, lb) in lora.items():
                t[f"base_model.model.{m}.lora_A.weight"], t[f"base_model.model.{m}.lora_B.weight"] = la, lb
            write_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), t, {"format": "pt"})
            write_json(os.path.join(adapter_dir, "adapter_config.json"),
                       {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 8, "lora_dropout": 0.0,
                        "target_modules": targets, "bias": "none", "fan_in_fan_out": False})
            write_logits(adapter_logits, logits_lora, ids, impl, compute, True)
    write_json(os.path.join(a.out_dir, "input_ids.json"), ids.tolist())
    print(json.dumps({"saved_model": a.out_dir, "arch": a.arch, "impl": impl, "dtype": a.dtype, "compute": compute,
                      "input_ids": os.path.join(a.out_dir, "input_ids.json"),
                      "logits": base_logits, "adapter": adapter_dir if lora is not None else None,
                      "adapter_logits": adapter_logits if lora is not None else None}))
    return 0


def set_peft_tensors(pm, lora):
    """Copies the random A and B into PEFT's lora_A/lora_B (names base_model.model.<module>.lora_A.default.weight)."""
    params = dict(pm.named_parameters())
    with torch.no_grad():
        for module, (la, lb) in lora.items():
            for kind, value in (("lora_A", la), ("lora_B", lb)):
                key = f"base_model.model.{module}.{kind}.default.weight"
                if key not in params:
                    raise Bad(f"PEFT has no parameter {key}")
                params[key].copy_(value)


def add_legacy_rope_keys(model_dir, cfg):
    """transformers 5 writes rope_parameters; Tandem reads rope_theta and rope_scaling. Adds those, same values."""
    path = os.path.join(model_dir, "config.json")
    written = read_json(path)
    for key in ("rope_theta", "rope_scaling"):
        if key in cfg and key not in written:
            written[key] = cfg[key]
    write_json(path, written)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, logits=True):
        if logits:
            p.add_argument("--tandem-logits", required=True, help="safetensors with a 'logits' tensor")
        p.add_argument("--input-ids", help="JSON token ids (see above)")
        p.add_argument("--compute", default="auto", choices=["auto"] + sorted(TOLERANCES))
        p.add_argument("--tol", type=float, help="max relative difference allowed (default by --compute)")
        p.add_argument("--impl", default="auto", choices=["auto", "transformers", "reference"])
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")

    p = sub.add_parser("check-model", help="a Tandem-saved model folder against transformers")
    p.add_argument("model_dir")
    common(p)
    p = sub.add_parser("check-adapter", help="a Tandem-saved PEFT adapter against PEFT")
    p.add_argument("base_dir")
    p.add_argument("adapter_dir")
    common(p)
    p = sub.add_parser("compare", help="two logits files (e.g. save-model's against Tandem's)")
    p.add_argument("expected")
    p.add_argument("got")
    common(p, logits=False)
    p = sub.add_parser("save-model", help="a tiny random model saved by transformers (and PEFT)")
    p.add_argument("out_dir")
    p.add_argument("--arch", default="qwen3", help="a variant of tests/reference/make_reference.py")
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq", type=int, default=12)
    p.add_argument("--adapter", action="store_true", help="also a random PEFT LoRA adapter (r=4, alpha=8)")
    p.add_argument("--targets", help="comma-separated LoRA target modules (default by family)")
    p.add_argument("--legacy-rope-keys", action="store_true",
                   help="also write rope_theta/rope_scaling into a transformers-5 config.json (Tandem reads "
                        "rope_parameters)")
    p.add_argument("--impl", default="auto", choices=["auto", "transformers", "reference"])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    if a.cmd == "check-model":
        a.model_dir = a.model_dir.rstrip("/")
    if a.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False  # f32 references must be f32, not TF32
        torch.backends.cudnn.allow_tf32 = False
    try:
        return {"check-model": cmd_check_model, "check-adapter": cmd_check_adapter, "compare": cmd_compare,
                "save-model": cmd_save_model}[a.cmd](a)
    except Bad as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
