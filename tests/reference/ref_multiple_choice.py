"""Multiple-choice log-likelihood reference (tests/test_multiple_choice.cpp), written from lm-evaluation-harness:

  lm_eval/models/huggingface.py _loglikelihood_tokens: inp = (context_enc + continuation_enc)[-(max_length+1):][:-1],
    the continuation's log-probs are the last len(continuation_enc) positions' log_softmax at its tokens, summed;
    max_length = the config's max_position_embeddings (HFLM's max_length property);
  lm_eval/api/task.py process_results (multiple_choice): pred = np.argmax(lls), pred_norm = np.argmax(lls /
    completion_len), acc / acc_norm = pred / pred_norm == gold; completion_len here is the UTF-8 byte length
    (lm-eval: len(str)), as Tandem documents;
  lm_eval/api/metrics.py mean_stderr: sample std (n - 1) / sqrt(n).

The model is the llama_gqa variant (the same fp32 weights as make_reference.py writes), run in float64. Items are
pre-tokenized with random ids: contexts of 1..20 tokens, 2..5 choices of 1..6 tokens, two items at or past
max_position_embeddings + 1 tokens (left truncation), choice texts of
varied byte lengths with multi-byte UTF-8. Writes <out>/multiple_choice/{items.jsonl, expected.json}.
"""
import json
import os

import numpy as np
import torch

TEXTS = ["a", "yes", "no way", "héllo", "日本", "naïve café", "🙂", "über-long answer text", "x" * 13, "ß",
         "Ωmega", "twelve chars"]


def loglikelihood(family, cfg, w64, context, continuation):
    max_length = cfg["max_position_embeddings"]
    whole = (context + continuation)[-(max_length + 1):]
    inp = torch.tensor([whole[:-1]], dtype=torch.int64)
    logits = family.forward(cfg, w64, inp)[0]
    n = len(continuation)
    logp = torch.log_softmax(logits[-n:], dim=-1)
    return float(logp.gather(-1, torch.tensor(continuation).unsqueeze(-1)).sum())


def mean_stderr(x):
    x = np.asarray(x, dtype=np.float64)
    return float(x.std(ddof=1) / np.sqrt(len(x)))


def write_reference(out_dir, family, cfg, weights32, seed=4242):
    gen = torch.Generator().manual_seed(seed)
    vocab, max_length = cfg["vocab_size"], cfg["max_position_embeddings"]

    def randint(lo, hi):  # inclusive
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    def ids(n):
        return [int(t) for t in torch.randint(0, vocab, (n,), generator=gen)]

    items = []
    for i in range(14):
        n_choices = randint(2, 5)
        context = ids(max_length + 6 if i == 3 else max_length - 2 if i == 7 else randint(1, 20))
        choices = [ids(1 if (i, k) == (0, 0) else randint(1, 6)) for k in range(n_choices)]
        texts = [TEXTS[randint(0, len(TEXTS) - 1)] for _ in range(n_choices)]
        items.append({"context_ids": context, "choices_ids": choices, "choices": texts,
                      "answer": randint(0, n_choices - 1)})

    w64 = {k: v.double() for k, v in weights32.items()}
    lls, acc, acc_norm, pred, pred_norm, min_gap = [], [], [], [], [], float("inf")
    with torch.no_grad():
        for item in items:
            ll = np.array([loglikelihood(family, cfg, w64, item["context_ids"], c) for c in item["choices_ids"]])
            per_byte = ll / np.array([float(len(t.encode("utf-8"))) for t in item["choices"]])
            for v in (ll, per_byte):  # fp32 must not flip an argmax: the best must lead clearly
                top = np.sort(v)[::-1]
                min_gap = min(min_gap, (top[0] - top[1]) / max(1.0, abs(top[0])))
            lls.append(ll.tolist())
            pred.append(int(np.argmax(ll)))
            pred_norm.append(int(np.argmax(per_byte)))
            acc.append(1.0 if pred[-1] == item["answer"] else 0.0)
            acc_norm.append(1.0 if pred_norm[-1] == item["answer"] else 0.0)
    assert min_gap > 1e-4, f"a near tie ({min_gap}); pick another seed"
    d = os.path.join(out_dir, "multiple_choice")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "items.jsonl"), "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    expected = {"model": "llama_gqa", "n": len(items), "loglikelihoods": lls, "pred": pred, "pred_norm": pred_norm,
                "acc": float(np.mean(acc)), "acc_stderr": mean_stderr(acc), "acc_norm": float(np.mean(acc_norm)),
                "acc_norm_stderr": mean_stderr(acc_norm), "min_relative_gap": min_gap}
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
