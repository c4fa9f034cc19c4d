#!/usr/bin/env bash
# `make bench`: lhindex's speed beside llama.cpp built in this run (llama-cpp-python, private venv).
# Usage: scripts/bench.sh [PROMPT_LENGTHS] [GEN_TOKENS]   (defaults: 512,2048 and 128)
set -euo pipefail
cd "$(dirname "$0")/.."
lengths=${1:-512,2048}
gen=${2:-128}
home=${LHINDEX_HOME:-$HOME/.cache/lhindex}
model=${LHINDEX_MODEL:-$home/models/SmolLM2-135M-Instruct.Q4_1.gguf}
venv=$home/bench-venv
if ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
  echo "building llama.cpp through llama-cpp-python into $venv (first run only, several minutes)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet llama-cpp-python
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
.build/release/lhindex bench -m "$model" --prompt "$lengths" --gen "$gen" --json > "$out/lhindex.json"
"$venv/bin/python" scripts/llama_cpp_bench.py "$model" "$lengths" "$gen" 2 > "$out/llama.json"
python3 - "$out/lhindex.json" "$out/llama.json" <<'PY'
import json, sys
ours = {r["test"]: r["tokensPerSecond"] for r in json.load(open(sys.argv[1]))["results"]}
ref = {r["test"]: r["tokensPerSecond"] for r in json.load(open(sys.argv[2]))["results"]}
print("| test | lhindex tok/s | llama.cpp tok/s | ratio |")
print("|---|---|---|---|")
for t in ours:
    print(f"| {t} | {ours[t]:.1f} | {ref.get(t, float('nan')):.1f} | {ours[t] / ref[t]:.2f} |")
PY
