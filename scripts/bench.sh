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
# Dense prompt and generation speed beside llama.cpp on the same file, for the default model and Gemma 3 270M
# (BENCH_MODELS: space-separated paths; a missing file is skipped with a note).
for m in ${BENCH_MODELS:-$model $home/models/gemma-3-270m-q4_k_m.gguf}; do
  if [ ! -f "$m" ]; then echo "(skipped $m: not fetched; make model MODEL=gemma3-270m)"; continue; fi
  echo "### $(basename "$m")"
  .build/release/lhindex bench -m "$m" --prompt "$lengths" --gen "$gen" --json > "$out/lhindex.json"
  "$venv/bin/python" scripts/llama_cpp_bench.py "$m" "$lengths" "$gen" 2 > "$out/llama.json"
  python3 - "$out/lhindex.json" "$out/llama.json" <<'PY'
import json, sys
ours = {r["test"]: r["tokens_per_second"] for r in json.load(open(sys.argv[1]))["results"]}
ref = {r["test"]: r["tokens_per_second"] for r in json.load(open(sys.argv[2]))["results"]}
print("| test | lhindex tok/s | llama.cpp tok/s | ratio |")
print("|---|---|---|---|")
for t in ours:
    print(f"| {t} | {ours[t]:.1f} | {ref.get(t, float('nan')):.1f} | {ours[t] / ref[t]:.2f} |")
PY
  echo
done

# LongHeads prefill cost by length (issue 3: the 128k rate should stay near the 8k rate), one process
# per length so each peak RSS is its own. Set LH_LENGTHS to change (default 8k,32k,128k).
echo
echo "| LongHeads prefill (A=2048, block) | tok/s | peak RSS |"
echo "|---|---|---|"
for n in $(echo "${LH_LENGTHS:-8k,32k,128k}" | tr ',' ' '); do
  python3 - "$model" "$n" <<'PY'
import json, resource, subprocess, sys
model, n = sys.argv[1], sys.argv[2]
out = subprocess.run([".build/release/lhindex", "bench", "-m", model, "--mode", "longheads", "--prompt", n,
                      "--gen", "0", "--repeat", "1", "--json"], check=True, capture_output=True, text=True).stdout
r = json.loads(out)["results"][0]
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024   # KB -> MB, peak of the child
print(f"| {n} ({r['tokens']} tokens) | {r['tokens_per_second']:.1f} | {rss:.0f} MB |")
PY
done


# The index (issue 4): build and ask at 8k, 32k and 128k tokens (IX_LENGTHS), one process per step.
echo
python3 scripts/bench_index.py "$model" "${LHINDEX_TEXT:-$home/texts/debian-policy-4.6.2.0.txt}" "${IX_LENGTHS:-8k,32k,128k}" "$out"

# A corpus of 200 documents and about a million tokens (issue 15's target: first token within 2 s and
# within 1.5× of the largest document alone, ask under 600 MB). BENCH_CORPUS=0 skips it.
if [ "${BENCH_CORPUS:-1}" != 0 ]; then
  echo
  python3 scripts/bench_corpus.py "$model" "${LHINDEX_TEXT:-$home/texts/debian-policy-4.6.2.0.txt}" "$home/bench-corpus"
fi
