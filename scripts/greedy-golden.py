#!/usr/bin/env python3
"""llama.cpp's greedy continuations with per-step log-probabilities (the format of shared/golden/greedy.jsonl).

    ~/.cache/lhindex/bench-venv/bin/python scripts/greedy-golden.py MODEL.gguf OUT.jsonl [STEPS [PROMPTS]]

PROMPTS keeps only the first PROMPTS prompts (the small goldens of the requantized models, scripts/eval.sh quants).

Prompts are tokenized with BOS when the model adds one, special tokens not parsed. For each generated token: its
id, its log-probability and the top-5 [id, logprob].
"""
import json, sys

import llama_cpp
import numpy as np

PROMPTS = ["The capital of France is", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
           "Once upon a time, in a small village by the sea,", "The three primary colors are",
           "Water boils at a temperature of"]
model, out_path = sys.argv[1], sys.argv[2]
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 24
if len(sys.argv) > 4:
    PROMPTS = PROMPTS[:int(sys.argv[4])]
llm = llama_cpp.Llama(model_path=model, n_ctx=512, n_threads=2, logits_all=True, verbose=False)
add_bos = bool(llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)))
with open(out_path, "w") as out:
    for prompt in PROMPTS:
        tokens = llm.tokenize(prompt.encode(), add_bos=add_bos, special=False)
        llm.reset()
        llm.eval(tokens)
        record = {"prompt": prompt, "prompt_tokens": tokens, "steps": []}
        generated = []
        for _ in range(steps):
            logits = np.asarray(llm.scores[llm.n_tokens - 1], dtype=np.float64)
            logp = logits - logits.max()
            logp -= np.log(np.exp(logp).sum())
            top = np.argsort(-logp)[:5]
            token = int(top[0])
            record["steps"].append({"token": token, "logprob": float(logp[token]),
                                    "top": [[int(t), float(logp[t])] for t in top]})
            generated.append(token)
            llm.eval([token])
        record["completion"] = llm.detokenize(generated).decode("utf-8", errors="replace")
        out.write(json.dumps(record) + "\n")
        print(f"{prompt[:30]!r} -> {record['completion'][:40]!r}", file=sys.stderr)
