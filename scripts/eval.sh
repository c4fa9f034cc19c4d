#!/usr/bin/env bash
# `make eval`: the long evaluations behind docs/longheads-on-small-models.md and the README tables.
# Hours on 2 cores. Every trial is appended as a JSON line under $LHINDEX_HOME/eval/; rerunning skips
# nothing (delete the files to start over). Tables: scripts/sweep-table.py FILE...
# Usage: scripts/eval.sh [passkey|needle|perplexity|prefill|long|kv|quants|answer-fresh|answer-length]...   (default: all nine)
set -euo pipefail
cd "$(dirname "$0")/.."
home=${LHINDEX_HOME:-$HOME/.cache/lhindex}
text=$home/texts/debian-policy-4.6.2.0.txt
out=$home/eval
mkdir -p "$out"
bin=.build/release/lhindex
steps=${*:-passkey needle perplexity prefill long kv quants answer-fresh answer-length}

for step in $steps; do
  case $step in
  passkey)   # question-time variants over one prefill per prompt (lists shrink as lengths grow), then baselines
    $bin eval passkey --sweep scripts/sweeps/passkey.txt --lengths 4k,8k --trials 10 --trials-out "$out/passkey.jsonl"
    $bin eval passkey --sweep scripts/sweeps/passkey-question-time.txt --lengths 16k --trials 10 --trials-out "$out/passkey.jsonl"
    $bin eval passkey --sweep scripts/sweeps/long.txt --lengths 32k --trials 10 --trials-out "$out/passkey.jsonl"
    $bin eval passkey --sweep scripts/sweeps/baselines.txt --lengths 4k,8k,16k,32k --trials 10 --trials-out "$out/passkey.jsonl"
    $bin eval passkey --sweep scripts/sweeps/baselines.txt --lengths 64k,128k --trials 5 --trials-out "$out/passkey.jsonl"
    # Dense attention is quadratic: about 2 min per trial at 16k, 8 at 32k; 64k and 128k (20 min and 2 h) are left out.
    $bin eval passkey --sweep scripts/sweeps/dense-long.txt --lengths 16k,32k --trials 10 --trials-out "$out/passkey.jsonl"
    $bin eval passkey --sweep scripts/sweeps/local4.txt --lengths 4k,8k,16k,32k --trials 10 --trials-out "$out/passkey.jsonl"
    $bin eval passkey --sweep scripts/sweeps/local4.txt --lengths 64k,128k --trials 5 --trials-out "$out/passkey.jsonl"
    $bin eval passkey --sweep scripts/sweeps/local4.txt --lengths 8k,16k,32k --trials 10 --seed 10 --trials-out "$out/passkey-more-seeds.jsonl"
    $bin eval passkey --sweep scripts/sweeps/local1-vs-local4.txt --lengths 64k --trials 5 --seed 5 --trials-out "$out/passkey-more-seeds.jsonl"
    $bin eval passkey --sweep scripts/sweeps/se512.txt --lengths 8k,16k,32k --trials 10 --trials-out "$out/passkey.jsonl"
    $bin eval passkey --sweep scripts/sweeps/standard-se512.txt --lengths 16k,32k --trials 10 --trials-out "$out/passkey.jsonl"
    $bin eval passkey --sweep scripts/sweeps/standard-se512.txt --lengths 64k,128k --trials 5 --trials-out "$out/passkey.jsonl"
    scripts/sweep-table.py "$out/passkey.jsonl"
    scripts/sweep-table.py "$out/passkey-more-seeds.jsonl" ;;
  needle)    # a fact planted in the Debian Policy Manual, asked as a chat question
    $bin eval needle --text "$text" --sweep scripts/sweeps/needle.txt --lengths 4k --trials 10 --trials-out "$out/needle.jsonl"
    $bin eval needle --text "$text" --sweep scripts/sweeps/needle.txt --lengths 8k,16k --trials 5 --trials-out "$out/needle.jsonl"
    $bin eval needle --text "$text" --sweep scripts/sweeps/needle-prefill.txt --lengths 16k --trials 5 --trials-out "$out/needle.jsonl"
    scripts/sweep-table.py "$out/needle.jsonl" ;;
  answer-fresh) # answer tokens keeping the previous token's chunks beyond their N best (docs/answer-decoding-2026-12-04.md)
    $bin eval passkey --sweep scripts/sweeps/answer-fresh.txt --lengths 16k,32k --trials 10 --trials-out "$out/answer-fresh-passkey.jsonl"
    $bin eval needle --text "$text" --sweep scripts/sweeps/answer-fresh.txt --lengths 8k,16k --trials 5 --trials-out "$out/answer-fresh-needle.jsonl"
    scripts/sweep-table.py "$out/answer-fresh-passkey.jsonl" "$out/answer-fresh-needle.jsonl" ;;
  answer-length) # answer tokens reading half the question window (docs/answer-decoding-2026-12-04.md): needles, pass keys,
                 # and the many-key documents (built once under $out/keys, then asked per configuration)
    $bin eval needle --text "$text" --sweep scripts/sweeps/answer-length.txt --lengths 8k,16k --trials 5 --trials-out "$out/answer-length-needle.jsonl"
    $bin eval passkey --sweep scripts/sweeps/answer-length.txt --lengths 16k,32k --trials 10 --trials-out "$out/answer-length-passkey.jsonl"
    $bin eval keys --sweep scripts/sweeps/answer-length.txt --lengths 8k,32k,128k --trials 2 --work "$out/keys" --trials-out "$out/answer-length-keys.jsonl"
    scripts/sweep-table.py "$out/answer-length-needle.jsonl" "$out/answer-length-passkey.jsonl" ;;
  long)      # the standard settings beside the paper's reading at 64k and 128k
    $bin eval passkey --sweep scripts/sweeps/long64.txt --lengths 64k,128k --trials 5 --trials-out "$out/passkey-long.jsonl"
    scripts/sweep-table.py "$out/passkey-long.jsonl" ;;
  quants)    # the default model requantized by llama.cpp into every new weight type: perplexity within 1% of llama.cpp's,
             # teacher-forced log-probabilities within 0.5 of llama.cpp's
    venv=$home/bench-venv
    if ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
      python3 -m venv "$venv" && "$venv/bin/pip" install --quiet llama-cpp-python numpy
    fi
    "$venv/bin/python" scripts/requantize.py "$home/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$home/requantized" \
      "${LHINDEX_GOLDEN:-../shared/golden}/ppl_text.txt" > /dev/null
    python3 - "$home/requantized" "$bin" "${LHINDEX_GOLDEN:-../shared/golden}/ppl_text.txt" <<'PY' | tee "$out/quants.md"
import json, subprocess, sys
directory, binary, text = sys.argv[1:4]
ref = json.load(open(f"{directory}/requantized-ppl.json"))
print("| type | llama.cpp ppl (ctx 512) | lhindex ppl | difference |")
print("|---|---|---|---|")
worst = 0.0
for name, r in ref.items():
    out = subprocess.run([binary, "perplexity", text, "-m", f"{directory}/SmolLM2-135M-Instruct.{name}.gguf", "--ctx", "512", "--json"],
                         check=True, capture_output=True, text=True).stdout
    ours = json.loads(out)["perplexity"]
    diff = ours / r["perplexity"] - 1
    worst = max(worst, abs(diff))
    print(f"| {name} | {r['perplexity']:.4f} | {ours:.4f} | {diff * 100:+.2f}% |")
print(f"\nlargest difference {worst * 100:.2f}% (target: within 1%)")
sys.exit(0 if worst <= 0.01 else 1)
PY
    # Teacher-forced log-probabilities of three greedy continuations against llama.cpp's, within the Gemma golden's
    # tolerance (Fixtures/golden/requantized, made from exactly these files: scripts/greedy-golden.py FILE OUT 12 3).
    goldens=$PWD/Fixtures/golden/requantized
    if ! (cd "$home/requantized" && sha256sum --quiet -c "$goldens/SHA256SUMS"); then
      echo "the requantized files differ from those behind $goldens (another llama.cpp?): regenerate its .jsonl files" \
           "with scripts/greedy-golden.py FILE OUT 12 3 and its SHA256SUMS" >&2
      exit 1
    fi
    LHINDEX_REQUANTIZED="$home/requantized" swift test -c release -Xswiftc -enable-testing \
      --filter RequantizedModelTests 2>&1 | tee "$out/quants-logprob.txt"
    ;;
  perplexity) # llama.cpp's method on the first 64k tokens of the long text, at every window length
    # (65536/ctx windows, so each run reads the same tokens); dense only up to 16k (quadratic cost).
    for ctx in 4096 8192 16384 32768 65536; do
      $bin perplexity "$text" --mode longheads --ctx $ctx --windows $((65536 / ctx)) --json | tee -a "$out/perplexity.jsonl"
    done
    for ctx in 4096 8192 16384; do
      $bin perplexity "$text" --mode dense --ctx $ctx --windows $((65536 / ctx)) --json | tee -a "$out/perplexity.jsonl"
    done ;;
  prefill)   # document settings on the region [32k, 64k): read 64k at once against 4k windows (README)
    for opts in "--mode longheads --variant paper-block" "--mode longheads --local 2" "--mode longheads --local 4" \
                "--mode longheads --scoring quest --variant paper-block" "--mode longheads --attn-length 4096 --variant paper-block" \
                "--mode longheads --attn-length 4096 --local 4" "--mode longheads --attn-length 4096 --local 8" \
                "--mode longheads --attn-length 8192 --variant paper-block" "--mode window"; do
      # shellcheck disable=SC2086
      $bin perplexity "$text" $opts --ctx 65536 --windows 1 --json | tee -a "$out/prefill.jsonl"
      # shellcheck disable=SC2086
      $bin perplexity "$text" $opts --ctx 4096 --from-window 8 --windows 8 --json | tee -a "$out/prefill.jsonl"
    done ;;
  kv)        # storage precisions: perplexity where every scored token reads stored blocks, and passkey
    for kv in f16 int8 k8v4; do
      $bin perplexity "$text" --mode longheads --ctx 4096 --windows 6 --kv $kv --json | tee -a "$out/kv.jsonl"
    done
    $bin eval passkey --mode longheads --kv k8v4 --lengths 4k,8k,16k --trials 10 --trials-out "$out/passkey-kv.jsonl"
    $bin eval passkey --mode longheads --kv k8v4 --lengths 32k --trials 5 --trials-out "$out/passkey-kv.jsonl"
    scripts/sweep-table.py "$out/passkey-kv.jsonl" ;;
  *) echo "unknown step '$step' (passkey, needle, perplexity, prefill, long, kv)" >&2; exit 64 ;;
  esac
done
