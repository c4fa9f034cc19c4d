#!/usr/bin/env bash
# Fetches llama.cpp's test vocabularies (llama-spm, llama-bpe, qwen2: .gguf with their .inp/.out test
# cases) from the llama-cpp-python 0.3.36 sdist on PyPI, checking its sha256. No-op when all are present.
# Usage: scripts/fetch-vocab.sh [DEST_DIR]   (default: $LHINDEX_HOME/vocab, LHINDEX_HOME=~/.cache/lhindex)
# LLAMA_CPP_PYTHON_SDIST=path uses an already downloaded sdist instead (its sha256 is checked the same).
set -euo pipefail
home="${LHINDEX_HOME:-$HOME/.cache/lhindex}"
dest="${1:-$home/vocab}"
version=0.3.36
sdist_sha=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
prefix=llama_cpp_python-$version/vendor/llama.cpp/models
files=()
for v in llama-spm llama-bpe qwen2; do
  for ext in "" .inp .out; do files+=("ggml-vocab-$v.gguf$ext"); done
done

missing=0
for f in "${files[@]}"; do [ -f "$dest/$f" ] || missing=1; done
if [ "$missing" = 0 ]; then echo "vocabularies ready: $dest"; exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sdist="${LLAMA_CPP_PYTHON_SDIST:-}"
if [ -z "$sdist" ]; then
  echo "fetching llama-cpp-python==$version sdist from PyPI (77 MB)"
  # The release's JSON names the sdist; PyPI mirrors may give a relative URL, resolved against the JSON's.
  url=$(python3 - "$version" <<'PY'
import json, sys, urllib.error, urllib.parse, urllib.request
version = sys.argv[1]
for api in (f"https://pypi.org/pypi/llama-cpp-python/{version}/json", "https://pypi.org/pypi/llama-cpp-python/json"):
    try:
        with urllib.request.urlopen(api, timeout=60) as r:
            data = json.load(r)
    except urllib.error.HTTPError:
        continue
    files = data.get("urls") if api.endswith(f"{version}/json") else data["releases"].get(version, [])
    for f in files:
        if f["packagetype"] == "sdist":
            print(urllib.parse.urljoin(api, f["url"]))
            sys.exit(0)
sys.exit(f"no sdist of llama-cpp-python {version} found on PyPI")
PY
)
  sdist="$tmp/sdist.tar.gz"
  curl -fsSL --retry 3 -o "$sdist" "$url"
fi
echo "$sdist_sha  $sdist" | sha256sum --check --quiet || { echo "llama-cpp-python sdist sha256 mismatch: $sdist" >&2; exit 1; }

members=()
for f in "${files[@]}"; do members+=("$prefix/$f"); done
tar -xzf "$sdist" -C "$tmp" "${members[@]}"
# Atomic: the files land in a sibling directory first, then each is renamed into place.
mkdir -p "$dest"
stage=$(mktemp -d "$dest/.fetch-vocab.XXXXXX")
trap 'rm -rf "$tmp" "$stage"' EXIT
for f in "${files[@]}"; do cp "$tmp/$prefix/$f" "$stage/$f"; done
for f in "${files[@]}"; do mv -f "$stage/$f" "$dest/$f"; done
echo "vocabularies ready: $dest"
