#!/usr/bin/env python3
"""llama.cpp's perplexity of a text with a model, by llama-perplexity's method, through llama-cpp-python.

    ~/.cache/lhindex/bench-venv/bin/python scripts/perplexity-golden.py MODEL.gguf TEXT [N_CTX]

The text is tokenized with the model's BOS when it adds one (as common_tokenize(..., add_special=true) does),
cut into consecutive windows of N_CTX tokens (the remainder dropped); each window is evaluated from an empty
cache with its first token replaced by BOS when the model adds one; the predictions of tokens N_CTX/2+1 ...
N_CTX-1 of each window are scored. Prints JSON: perplexity, chunks, tokens.
"""
import json, math, sys

import llama_cpp
import numpy as np

model, text_path = sys.argv[1], sys.argv[2]
n_ctx = int(sys.argv[3]) if len(sys.argv) > 3 else 512
llm = llama_cpp.Llama(model_path=model, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, logits_all=True,
                      n_threads=2, verbose=False)
vocab = llama_cpp.llama_model_get_vocab(llm.model)
add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
bos = llama_cpp.llama_vocab_bos(vocab)
text = open(text_path, encoding="utf-8").read()
tokens = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False)
chunks = len(tokens) // n_ctx
first = n_ctx // 2
nll, count = 0.0, 0
for c in range(chunks):
    window = tokens[c * n_ctx:(c + 1) * n_ctx]
    if add_bos:
        window[0] = bos
    llm.reset()
    llm._ctx.memory_clear(True) if hasattr(llm._ctx, "memory_clear") else None
    llm.eval(window)
    logits = np.asarray(llm.scores[:n_ctx], dtype=np.float64)
    for i in range(first, n_ctx - 1):
        row = logits[i]
        m = row.max()
        nll -= row[window[i + 1]] - m - math.log(np.exp(row - m).sum())
        count += 1
    print(f"chunk {c + 1}/{chunks}: running ppl {math.exp(nll / count):.4f}", file=sys.stderr)
print(json.dumps({"model": model.rsplit("/", 1)[-1], "n_ctx": n_ctx, "tokens": len(tokens), "chunks": chunks,
                  "add_bos": add_bos, "perplexity": round(math.exp(nll / count), 4),
                  "llama_cpp": llama_cpp.__version__}))
