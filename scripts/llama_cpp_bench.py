#!/usr/bin/env python3
"""Times llama.cpp (through llama-cpp-python) the way `lhindex bench` times lhindex: seeded random
prompt tokens from an empty cache, then generated tokens one at a time. Prints one JSON object.
Benchmark-only: lhindex never depends on llama.cpp."""
import json, random, sys, time
from llama_cpp import Llama

model, lengths, gen, repeat = sys.argv[1], [int(x) for x in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])
llm = Llama(model_path=model, n_ctx=max(lengths) + gen + 32, n_threads=2, n_threads_batch=2,
            n_batch=max(lengths), n_ubatch=512, verbose=False)
rng = random.Random(42)
vocab = llm.n_vocab()
results = []
for n in lengths:
    toks = [rng.randrange(vocab) for _ in range(n)]
    best = 0.0
    for _ in range(repeat):
        llm.reset()
        t = time.perf_counter()
        llm.eval(toks)
        best = max(best, n / (time.perf_counter() - t))
    results.append({"test": f"pp{n}", "tokens": n, "tokens_per_second": best})
if gen > 0:
    best = 0.0
    for _ in range(repeat):
        llm.reset()
        llm.eval([rng.randrange(vocab) for _ in range(16)])
        t = time.perf_counter()
        for _ in range(gen):
            nxt = int(llm.scores[llm.n_tokens - 1].argmax())
            llm.eval([nxt])
        best = max(best, gen / (time.perf_counter() - t))
    results.append({"test": f"tg{gen}", "tokens": gen, "tokens_per_second": best})
print(json.dumps({"results": results}))
