#!/usr/bin/env bash
# Fetches the Debian Policy Manual 4.6.2.0 (GPL-2+, ~479 KB of plain text, ~110k tokens) from the Debian
# archive and checks both sha256 sums. It is the long real text of the perplexity and needle evaluations.
# Usage: scripts/fetch-text.sh DEST.txt
set -euo pipefail
dest="$1"
url=http://deb.debian.org/debian/pool/main/d/debian-policy/debian-policy_4.6.2.0_all.deb
deb_sha=ef9d01b625c3b87c3a845c2cd1b66f1a16e9240b2b9e5bee53472a00e8457a39
txt_sha=89dba06600463ed858b4ccd3bdf4e72452c512589f1029548346e5284eb71374

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching debian-policy 4.6.2.0 from deb.debian.org"
python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$url" "$tmp/policy.deb"
echo "$deb_sha  $tmp/policy.deb" | sha256sum --check --quiet || { echo "debian-policy .deb sha256 mismatch" >&2; exit 1; }
dpkg-deb --fsys-tarfile "$tmp/policy.deb" | tar -x -C "$tmp" ./usr/share/doc/debian-policy/policy.txt.gz
gunzip -c "$tmp/usr/share/doc/debian-policy/policy.txt.gz" > "$tmp/policy.txt"
echo "$txt_sha  $tmp/policy.txt" | sha256sum --check --quiet || { echo "policy.txt sha256 mismatch" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
mv "$tmp/policy.txt" "$dest.part" && mv "$dest.part" "$dest"
echo "text ready: $dest"
