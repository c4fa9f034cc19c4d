#!/usr/bin/env python3
"""Goldens for TinyArchitectureTests: llama.cpp's logits on the tiny random models the tests write.

Run with the venv `make bench` builds (llama-cpp-python 0.3.36):
    ~/.cache/lhindex/bench-venv/bin/python scripts/tiny-model-goldens.py
It runs the tests once with LHINDEX_TINY_MODEL_DIR set, so they write the model files there, evaluates each file
with llama.cpp (every position's logits) and writes Fixtures/golden/tiny-models/tiny-<variant>.json.
"""
import hashlib, json, os, pathlib, subprocess, sys, tempfile

import llama_cpp

TOKENS = [40, 17, 200, 3, 99, 99, 128, 250, 7, 64, 33, 180, 5, 90]   # TinyArchitecture.tokens
root = pathlib.Path(__file__).resolve().parent.parent
out_dir = root / "Fixtures/golden/tiny-models"
out_dir.mkdir(parents=True, exist_ok=True)

with tempfile.TemporaryDirectory() as tmp:
    for old in out_dir.glob("tiny-*.json"):
        old.unlink()      # the tests write files only where no golden exists yet
    env = dict(os.environ, LHINDEX_TINY_MODEL_DIR=tmp)
    subprocess.run(["swift", "test", "-c", "release", "-Xswiftc", "-enable-testing", "--filter", "TinyArchitectureTests"],
                   cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    for path in sorted(pathlib.Path(tmp).glob("tiny-*.gguf")):
        llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, n_batch=256, logits_all=True, n_threads=2, verbose=False)
        llm.eval(TOKENS)
        logits = [[round(float(x), 5) for x in row] for row in llm.scores[:len(TOKENS)]]
        golden = {"source": f"llama.cpp via llama-cpp-python {llama_cpp.__version__}, CPU, logits of every position",
                  "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "tokens": TOKENS, "logits": logits}
        (out_dir / (path.stem + ".json")).write_text(json.dumps(golden, separators=(",", ":")) + "\n")
        print(f"{path.stem}: {len(logits)} positions", file=sys.stderr)
