#!/usr/bin/env python3
"""`make bench`, index rows: build tokens/s and peak RSS, bytes per token, and for two questions asked in one
`lhindex ask` run: time to first token of each, decode tokens/s and peak RSS.

Usage: scripts/bench_index.py MODEL TEXT LENGTHS WORKDIR [KV,KV]
The documents are TEXT (the Debian Policy Manual of `make text`) repeated and cut to about N tokens,
each indexed with every --kv precision given (default k5v4,f16: the default and the exact reference).
Each step runs in its own process; its peak RSS is read with wait4() so steps do not mix.
"""
import json
import os
import subprocess
import sys
import time

model, text, lengths, work = sys.argv[1:5]
precisions = (sys.argv[5] if len(sys.argv) > 5 else "k5v4,f16").split(",")
lhindex = ".build/release/lhindex"


def run(args):
    """Runs lhindex with args; returns (stdout, seconds, peak RSS in MB)."""
    t = time.time()
    p = subprocess.Popen([lhindex] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"lhindex {' '.join(args)} failed")
    return out, time.time() - t, usage.ru_maxrss / 1024


src = open(text, encoding="utf-8").read()
print("| document | kv | tokens | build tok/s | build peak RSS | bytes/token | question tokens select | first token, 1st question | first token, 2nd question | decode tok/s | ask peak RSS |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for n in lengths.split(","):
    target = int(n[:-1]) * 1024 if n.endswith("k") else int(n)
    chars = int(target * 3.9)   # the Policy Manual: about 3.1 characters per token at its start, 4 later
    doc = (src * (1 + chars // len(src)))[:chars]
    path = f"{work}/policy-{n}.txt"
    open(path, "w", encoding="utf-8").write(doc)
    for kv in precisions:
        out_dir = f"{work}/index-{n}-{kv}"
        _, build_s, build_rss = run(["build", "-m", model, path, "-o", out_dir, "--kv", kv])
        bundle = f"{out_dir}/policy-{n}.txt.lhx"
        info = json.loads(run(["info", bundle, "--json"])[0])
        for select in ("token", "block"):   # the default, and one shared selection per chunk of question tokens
            out, _, ask_rss = run(["ask", "-m", model, bundle, "--json", "-n", "48", "--question-select", select,
                                   "What must a package do to declare its dependencies?",
                                   "Where are the configuration files of a package kept?"])
            answers = [json.loads(line) for line in out.splitlines() if line.strip()]
            decode_tokens = sum(a["tokens"] - 1 for a in answers)
            decode_s = sum(a["seconds"] - a["first_token_seconds"] for a in answers)
            print(f"| {n} | {kv} | {info['tokens']} | {info['tokens'] / build_s:.0f} | {build_rss:.0f} MB | {info['bytes_per_token']:.0f} | {select} | "
                  f"{answers[0]['first_token_seconds']:.2f} s | {answers[1]['first_token_seconds']:.2f} s | "
                  f"{decode_tokens / decode_s:.1f} | {ask_rss:.0f} MB |", flush=True)
