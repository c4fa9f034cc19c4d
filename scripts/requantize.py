#!/usr/bin/env python3
"""Requantizes the default model into the K-quant and 5-bit types with llama.cpp (llama_model_quantize with
allow_requantize, the library behind `llama-quantize --allow-requantize`), and measures llama.cpp's perplexity
of each on shared/golden/ppl_text.txt at ctx 512 (scripts/perplexity-golden.py). For `make eval`.

    ~/.cache/lhindex/bench-venv/bin/python scripts/requantize.py SOURCE.gguf OUT_DIR TEXT

Writes OUT_DIR/SmolLM2-135M-Instruct.<TYPE>.gguf (skipped when present) and OUT_DIR/requantized-ppl.json
(kept across runs: a type already measured is not measured again).
"""
import ctypes, json, os, pathlib, subprocess, sys

import llama_cpp

TYPES = {"Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M, "Q5_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M,
         "Q6_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K, "Q3_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_M,
         "Q2_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K, "Q5_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_0,
         "Q5_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_1}

source, out_dir, text = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
out_dir.mkdir(parents=True, exist_ok=True)
results_path = out_dir / "requantized-ppl.json"
results = json.loads(results_path.read_text()) if results_path.exists() else {}
for name, ftype in TYPES.items():
    dest = out_dir / f"SmolLM2-135M-Instruct.{name}.gguf"
    if not dest.exists():
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.allow_requantize = True
        params.nthread = 2
        part = str(dest) + ".part"
        if llama_cpp.llama_model_quantize(source.encode(), part.encode(), ctypes.byref(params)) != 0:
            sys.exit(f"quantizing to {name} failed")
        os.replace(part, dest)
        print(f"wrote {dest}", file=sys.stderr)
    if name not in results:
        out = subprocess.run([sys.executable, str(pathlib.Path(__file__).parent / "perplexity-golden.py"), str(dest), text, "512"],
                             check=True, capture_output=True, text=True).stdout
        results[name] = json.loads(out)
        results_path.write_text(json.dumps(results, indent=1) + "\n")
        print(f"{name}: llama.cpp perplexity {results[name]['perplexity']}", file=sys.stderr)
print(json.dumps(results))
