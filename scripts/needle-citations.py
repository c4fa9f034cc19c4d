#!/usr/bin/env python3
"""Measures citations on the needle task through `lhindex build` and `lhindex ask --json --cite`.

Each trial plants one sentence stating a number ("The access code for the north server room is N.", the
facts of `lhindex eval needle`) on its own line at a random line break of the first CHARS characters of a
long real text, builds the document with `lhindex build`, asks the matching question with
`lhindex ask --json --cite 3`, and checks whether the top citation's lines hold the planted line.

    scripts/needle-citations.py build --length 4k --trials 20 --work /tmp/cite-needle
    scripts/needle-citations.py ask   --length 4k --trials 20 --work /tmp/cite-needle [--out FILE]

Prints one line per trial and the count: correctly answered trials, and of those, the ones whose top
citation contains the needle.
"""
import argparse, json, os, random, subprocess, sys

FACTS = [
    ("The access code for the north server room is N.", "What is the access code for the north server room?"),
    ("The release manager's lucky number is N.", "What is the release manager's lucky number?"),
    ("The mirror in Oslo keeps exactly N old snapshots.", "How many old snapshots does the mirror in Oslo keep?"),
    ("The build farm's spare disk has the serial number N.", "What is the serial number of the build farm's spare disk?"),
]
# Characters of the Debian Policy Manual per SmolLM2 token, measured by building (about 2.8: it is heavily formatted).
CHARS_PER_TOKEN = 2.8
HERE = os.path.dirname(os.path.abspath(__file__))


def trial(text, length, seed):
    """The document text, the planted line's 1-based number, the question and the key of trial `seed`."""
    rng = random.Random(seed * 7919 + length)
    key = rng.randint(1, 50000)
    statement, question = FACTS[rng.randrange(len(FACTS))]
    statement = statement.replace("N", str(key))
    doc = text[:int((length - 80) * CHARS_PER_TOKEN)]
    doc = doc[:doc.rfind("\n") + 1]
    at = rng.randrange(len(doc))
    at = doc.find("\n", at)
    if at < 0:
        at = len(doc) - 1
    doc = doc[:at + 1] + statement + "\n" + doc[at + 1:]
    line = doc[:at + 1].count("\n") + 1
    return doc, line, question, key


def lengths(s):
    return int(s[:-1]) * 1024 if s.endswith("k") else int(s)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("step", choices=["build", "ask"])
    p.add_argument("--length", default="4k")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--work", default="/tmp/cite-needle")
    p.add_argument("--text", default=os.path.expanduser("~/.cache/lhindex/texts/debian-policy-4.6.2.0.txt"))
    p.add_argument("--lhindex", default=os.path.join(HERE, "..", ".build", "release", "lhindex"))
    p.add_argument("--cite", type=int, default=3, help="spans to ask for (0: plain --cite, for versions before --cite=N)")
    p.add_argument("--out", help="append one JSON line per trial")
    p.add_argument("--question", help="ask this instead (a question the document does not answer: counts trials with no citation)")
    p.add_argument("--trace", help="diagnostic: a directory for the raw attention traces (LHINDEX_CITE_TRACE)")
    a = p.parse_args()
    text = open(a.text, encoding="utf-8").read()
    n = lengths(a.length)
    docs = os.path.join(a.work, a.length, "docs")
    index = os.path.join(a.work, a.length, "index")
    if a.step == "build":
        os.makedirs(docs, exist_ok=True)
        for s in range(a.trials):
            doc, _, _, _ = trial(text, n, s)
            with open(os.path.join(docs, f"t{s:03}.txt"), "w", encoding="utf-8") as f:
                f.write(doc)
        subprocess.run([a.lhindex, "build", docs, "-o", index, "--quiet"], check=True)
        return
    correct = cited = none = 0
    out = open(a.out, "a") if a.out else None
    for s in range(a.trials):
        _, line, question, key = trial(text, n, s)
        question = a.question or question
        env = dict(os.environ)
        if a.trace:
            os.makedirs(a.trace, exist_ok=True)
            env["LHINDEX_CITE_TRACE"] = os.path.join(a.trace, f"t{s:03}.json")
        cite = [f"--cite={a.cite}"] if a.cite else ["--cite"]
        r = subprocess.run([a.lhindex, "ask", os.path.join(index, f"t{s:03}.txt.lhx"), question, "--json", "-n", "24"] + cite,
                           check=True, capture_output=True, text=True, env=env)
        o = json.loads(r.stdout)
        ok = str(key) in "".join(ch if ch.isdigit() else " " for ch in o["answer"]).split()
        cites = o.get("citations") or []
        top = max(cites, key=lambda c: c.get("share", c.get("weight", 0))) if cites else None
        hit = top is not None and top["first_line"] <= line <= top["last_line"]
        correct += ok
        none += not cites
        cited += ok and hit
        where = f"{top['first_line']}-{top['last_line']}" if top else "none"
        print(f"seed {s}: needle line {line}, answer {'ok ' if ok else 'bad'}, top citation {where} "
              f"{'HOLDS' if hit else 'misses'} the needle; all: {[(c['first_line'], c['last_line']) for c in cites]}")
        if out:
            out.write(json.dumps({"length": a.length, "seed": s, "needle_line": line, "correct": ok, "top_holds_needle": hit,
                                  "answer": o["answer"], "citations": cites}) + "\n")
    if a.question:
        print(f"{a.length}: {none}/{a.trials} trials without a citation")
        return
    print(f"{a.length}: {correct}/{a.trials} answered correctly; top citation holds the needle in {cited}/{correct} of them")


if __name__ == "__main__":
    main()
