#!/usr/bin/env python3
"""Merges `lhindex eval --trials-out` JSON lines into one markdown table: configuration × length.

Usage: scripts/sweep-table.py FILE.jsonl... [--task passkey|needle]
A cell is "correct/trials" (for the haystack tasks, correct/questions), with the mean selection recall in parentheses where recorded (the share of
(layer, head) windows of the last prompt token holding the planted fact's chunk); a (configuration, length, seed, question) seen twice counts once (the last line wins).
The last column is the mean question-time seconds per trial (shared prefill excluded) and the mean
shared prefill seconds per trial.
"""
import json
import sys

files = [a for a in sys.argv[1:] if not a.startswith("--")]
task = sys.argv[sys.argv.index("--task") + 1] if "--task" in sys.argv else None
trials = {}
order, lengths = [], []
for path in files:
    for line in open(path):
        t = json.loads(line)
        if task and t["task"] != task:
            continue
        # Haystack tasks (keys, values, vars, nolima) write one line per question of a document.
        key = (t["configuration"], t["length"], t["seed"], t.get("question"))
        trials[key] = t
        if t["configuration"] not in order:
            order.append(t["configuration"])
        if t["length"] not in lengths:
            lengths.append(t["length"])
lengths.sort()


def label(n):
    return f"{n // 1024}k" if n % 1024 == 0 else str(n)


print("| configuration | " + " | ".join(label(n) for n in lengths) + " | s/trial (question + shared prefill) |")
print("|---|" + "---|" * len(lengths) + "---|")
for name in order:
    cells, secs, pre = [], [], []
    for n in lengths:
        ts = [t for (c, l, _, _), t in trials.items() if c == name and l == n]
        if not ts:
            cells.append("–")
            continue
        cell = f"{sum(t['correct'] for t in ts)}/{len(ts)}"
        rec = [t.get("needle_windows", t.get("needleWindows")) / t["windows"] for t in ts if t.get("windows")]
        if rec:
            cell += f" ({100 * sum(rec) / len(rec):.0f}%)"
        cells.append(cell)
        secs += [t["seconds"] for t in ts]
        # The shared prefill (passkey, needle) or the document's build (haystack tasks, on its first question).
        pre += [x for t in ts if (x := t.get("prefill_seconds", t.get("prefillSeconds")) or t.get("document_seconds"))]
    s = f"{sum(secs) / len(secs):.1f}" if secs else "–"
    p = f" + {sum(pre) / len(pre):.0f}" if pre else ""
    print(f"| {name} | " + " | ".join(cells) + f" | {s}{p} |")
