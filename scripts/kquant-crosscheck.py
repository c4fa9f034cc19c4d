#!/usr/bin/env python3
"""End-to-end check of the K-quant weight types on a real model (see docs/kquant-crosscheck.md).

Requantizes the default SmolLM2-135M Q4_1 model to Q4_K_M with llama.cpp (Q4_K, Q6_K, Q5_0, Q8_0 tensors), then
writes two goldens in the format of shared/golden/greedy.jsonl for the prompts of that file:
  OUT/llamacpp/greedy.jsonl  llama.cpp's greedy continuation with teacher-forced top-5 log-probabilities
  OUT/numpy/greedy.jsonl     the same tokens through the float32 NumPy reference forward pass
                             (shared/reference/longheads-numpy, weights dequantized by gguf.quants)
lhindex's RealModelTests run against either with LHINDEX_MODEL=OUT/smol-q4km.gguf LHINDEX_GOLDEN=OUT/<which>.

usage: OMP_NUM_THREADS=1 ~/.cache/lhindex/bench-venv/bin/python scripts/kquant-crosscheck.py [OUT]
"""
import ctypes
import json
import os
import sys

import numpy as np
import llama_cpp

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared")
OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/lhindex-kquant"
SRC = os.path.expanduser(os.environ.get("LHINDEX_MODEL", "~/.cache/lhindex/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
DST = os.path.join(OUT, "smol-q4km.gguf")
GOLDEN = os.path.join(SHARED, "golden", "greedy.jsonl")


def log_softmax(row):
    row = np.asarray(row, dtype=np.float64)
    lp = row - row.max()
    return lp - np.log(np.exp(lp).sum())


def requantize():
    if os.path.exists(DST):
        return
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = 15            # LLAMA_FTYPE_MOSTLY_Q4_K_M
    p.allow_requantize = True
    p.nthread = 1
    assert llama_cpp.llama_model_quantize(SRC.encode(), DST.encode(), ctypes.byref(p)) == 0


def llamacpp_golden(prompts):
    llm = llama_cpp.Llama(model_path=DST, logits_all=True, n_ctx=512, n_threads=1, verbose=False)
    out = []
    for g in prompts:
        llm.reset()
        llm.eval(list(g["prompt_tokens"]))
        steps = []
        for _ in g["steps"]:
            lp = log_softmax(llm.scores[llm.n_tokens - 1])
            top = [int(t) for t in np.argsort(-lp)[:5]]
            steps.append({"token": top[0], "logprob": float(lp[top[0]]), "top": [[t, float(lp[t])] for t in top]})
            llm.eval([top[0]])
        text = llm.detokenize([s["token"] for s in steps]).decode("utf-8", "replace")
        out.append({"prompt": g["prompt"], "prompt_tokens": g["prompt_tokens"], "completion": text, "steps": steps})
    return out


def numpy_golden(prompts):
    sys.path.insert(0, os.path.join(SHARED, "reference", "longheads-numpy"))
    import model as reference   # noqa: E402
    m = reference.Model(DST)
    out = []
    for g in prompts:
        tokens = g["prompt_tokens"] + [s["token"] for s in g["steps"][:-1]]
        logits = m.dense_forward(np.array(tokens))
        first = len(g["prompt_tokens"]) - 1
        steps = []
        for i, s in enumerate(g["steps"]):
            lp = log_softmax(logits[first + i])
            steps.append({"token": s["token"], "logprob": float(lp[s["token"]]), "top": [[t, float(lp[t])] for t, _ in s["top"]]})
        out.append(dict(g, steps=steps))
    return out


def write(which, goldens):
    os.makedirs(os.path.join(OUT, which), exist_ok=True)
    with open(os.path.join(OUT, which, "greedy.jsonl"), "w") as f:
        for g in goldens:
            f.write(json.dumps(g) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    requantize()
    prompts = [json.loads(line) for line in open(GOLDEN)]
    llama = llamacpp_golden(prompts)
    write("llamacpp", llama)
    ref = numpy_golden(llama)
    write("numpy", ref)
    diffs = sorted(abs(a[1] - b[1]) for g, r in zip(llama, ref) for s, t in zip(g["steps"], r["steps"])
                   for a, b in zip(s["top"], t["top"]))
    print(f"llama.cpp vs NumPy float32, {len(diffs)} top-5 log-probabilities: median {diffs[len(diffs) // 2]:.4f}, "
          f"p90 {diffs[len(diffs) * 9 // 10]:.4f}, max {diffs[-1]:.4f}")


if __name__ == "__main__":
    main()
