#!/usr/bin/env python3
"""`make bench`, corpus rows: a question asked of a corpus of 200 documents and about a million tokens, beside
the same question asked of the largest document alone: first-token time, wall time (opening included) and
peak RSS, each in its own process.

Usage: scripts/bench_corpus.py MODEL TEXT WORKDIR
Six documents of about 1k, 2k, 4k, 8k, 16k and 32k tokens are cut from consecutive parts of TEXT and built
once; the corpus is 200 bundles hard-linked from them (18, 20, 30, 40, 45 and 47 copies, largest first,
about 1.07M tokens), so it costs one small build and no disk. Every bundle is opened, checked and scored as
a separately built one would be; only the page cache sees one file where copies would be several.
"""
import json
import os
import subprocess
import time
import sys

model, text, work = sys.argv[1:4]
lhindex = os.path.abspath(".build/release/lhindex")
QUESTION = "Which package supplies the master copies of the password file?"
SIZES = {1: 47, 2: 45, 4: 40, 8: 30, 16: 20, 32: 18}    # thousands of tokens (approximately) → copies
CHARS_PER_TOKEN = 2.8                                 # characters per part and token asked for: about 1.07M tokens in all


def run(args):
    """Runs lhindex with args; returns (stdout, peak RSS in MB)."""
    p = subprocess.Popen([lhindex] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"lhindex {' '.join(args)} failed")
    return out, usage.ru_maxrss / 1024


def main():
    src, base, corpus = (os.path.join(work, d) for d in ("src", "base.lhindex", "corpus.lhindex"))
    os.makedirs(src, exist_ok=True)
    t = open(text, encoding="utf-8").read()
    at = 0
    for k in SIZES:
        part = t[at:at + int(k * 1024 * CHARS_PER_TOKEN)]
        part = part[:part.rfind("\n") + 1]
        at += len(part)
        with open(os.path.join(src, f"part{k:02}k.txt"), "w", encoding="utf-8") as f:
            f.write(part)
    run(["build", src, "-o", base, "-m", model, "--quiet"])
    os.makedirs(corpus, exist_ok=True)
    i = 0
    for k in sorted(SIZES, reverse=True):
        for _ in range(SIZES[k]):
            dst = os.path.join(corpus, f"d{i:03}-part{k:02}k.txt.lhx")
            if not os.path.exists(dst):
                subprocess.run(["cp", "-al", os.path.join(base, f"part{k:02}k.txt.lhx"), dst], check=True)
            i += 1
    tokens = sum(json.loads(run(["info", os.path.join(base, f"part{k:02}k.txt.lhx"), "--json"])[0])["tokens"] * c
                 for k, c in SIZES.items())
    largest = os.path.join(base, "part32k.txt.lhx")
    print(f"| ask ({QUESTION!r}, -n 8) | first token | wall | peak RSS |")
    print("|---|---|---|---|")
    for label, path in [(f"largest document alone ({largest.split('/')[-1]})", largest),
                        (f"corpus of {i} documents, {tokens:,} tokens", corpus)]:
        for _ in range(2):          # the second run reads a warm page cache; report it
            began = time.time()
            out, rss = run(["ask", path, QUESTION, "-m", model, "-n", "8", "--json"])
            wall = time.time() - began
        r = json.loads(out)
        print(f"| {label} | {r['first_token_seconds']:.2f} s | {wall:.2f} s | {rss:.0f} MB |")


if __name__ == "__main__":
    main()
