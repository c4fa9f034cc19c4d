#!/usr/bin/env python3
"""A pass key planted in one document of a corpus, asked of the whole corpus through `lhindex ask`.

The text is the passkey prompt of `lhindex eval passkey` (the task line, then filler "The grass is green.
..."), about TOKENS tokens, cut into DOCS documents of mixed lengths (the first starts with the task
line). Each trial plants "The pass key is N. Remember it. N is the pass key." at a random depth of one
random document, rebuilds the corpus (only the changed documents are rebuilt) and asks "What is the
pass key?" of the corpus directory. With --single the same text is one document (the single-document
figure at the same length, same prompts). With --answer-start TEXT every answer begins with TEXT ("The pass
key is" makes the chat question a completion like eval passkey's prompt). Every trial is appended to OUT as a
JSON line; trials OUT already holds for the same settings are skipped, so a stopped run resumes.

With --haystack policy the documents are consecutive parts of the Debian Policy Manual (LHINDEX_TEXT, else the
cache `make eval` fills; repeated when the corpus is longer) and the planted sentence is one of the needle task's
facts ("The access code for the north server room is N.", lhindex eval needle's), asked with its own question.

Usage: scripts/corpus-passkey.py --tokens 32768 --docs 20 --trials 10 --out trials.jsonl [--single]
       [--task-every] [--answer-start TEXT] [--haystack filler|policy] [--ask-args 'OPTIONS']
"""
import argparse, json, os, random, re, shutil, subprocess, sys

TASK = ("There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. "
        "I will quiz you about the important information there.")
FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
CHARS_PER_TOKEN = 3.7   # of the filler, with the default model's tokenizer


# The needle task's facts (Sources/LHEval/NeedleTask.swift): (statement with N, question).
FACTS = [
    ("The access code for the north server room is N.", "What is the access code for the north server room?"),
    ("The release manager's lucky number is N.", "What is the release manager's lucky number?"),
    ("The mirror in Oslo keeps exactly N old snapshots.", "How many old snapshots does the mirror in Oslo keep?"),
    ("The build farm's spare disk has the serial number N.", "What is the serial number of the build farm's spare disk?"),
]
POLICY = os.environ.get("LHINDEX_TEXT", os.path.expanduser("~/.cache/lhindex/texts/debian-policy-4.6.2.0.txt"))


def policy_parts(sizes):
    """Consecutive parts of the policy text of about `sizes` characters each, cut at line ends."""
    original = open(POLICY, encoding="utf-8").read()
    text, pos, out = original, 0, []
    for n in sizes:
        while len(text) < pos + n + 1:
            text += "\n" + original
        cut = text.rfind("\n", pos, pos + n + 1)
        end = cut if cut > pos else pos + n
        out.append(text[pos:end])
        pos = end + 1
    return out


def plant(body, sentence, depth):
    """body with sentence on its own line at the first line end after `depth` of it (or at the end)."""
    at = body.find("\n", int(len(body) * depth))
    at = len(body) if at < 0 else at
    return body[:at] + "\n" + sentence + body[at:]


def filler(chars):
    text = " ".join([FILLER] * (chars // len(FILLER) + 2))
    return text[:chars]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=32768)
    ap.add_argument("--docs", type=int, default=20)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--single", action="store_true", help="one document of the same total length")
    ap.add_argument("--task-every", action="store_true", help="every document starts with the task line, not only the first")
    ap.add_argument("--haystack", choices=["filler", "policy"], default="filler",
                    help="the pass key task's filler, or the Debian Policy Manual with a needle fact")
    ap.add_argument("--answer-start", default="", help="text every answer begins with (ask --answer-start)")
    ap.add_argument("--ask-args", default="", help="more ask options, space-separated (e.g. '--question-select block')")
    ap.add_argument("--bin", default=".build/release/lhindex")
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/lhindex/eval/corpus-passkey"))
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    weights = [rng.uniform(0.3, 1.7) for _ in range(a.docs)]
    parts = [int(a.tokens * CHARS_PER_TOKEN * w / sum(weights)) for w in weights]
    docs = 1 if a.single else a.docs
    work = os.path.join(a.work, f"{'single' if a.single else 'corpus'}-{a.tokens}-{docs}" + ("-task-every" if a.task_every else "")
                        + ("-policy" if a.haystack == "policy" else ""))
    policy = policy_parts([int(n * 4.3 / CHARS_PER_TOKEN) for n in parts]) if a.haystack == "policy" else None
    src, idx = os.path.join(work, "src"), os.path.join(work, "src.lhindex")
    os.makedirs(src, exist_ok=True)
    names = [f"doc{i:02d}.txt" for i in range(docs)]

    def write(i, text):
        path = os.path.join(src, names[i])
        if not os.path.exists(path) or open(path).read() != text:
            with open(path, "w") as f:
                f.write(text)

    def settings(row):
        return (row["tokens"], row["docs"], row.get("task_every", False), row["seed"], row.get("answer_start", ""),
                row.get("haystack", "filler"), row.get("ask_args", ""))

    done = set()
    if os.path.exists(a.out):
        for line in open(a.out):
            row = json.loads(line)
            if settings(row) == (a.tokens, docs, a.task_every, a.seed, a.answer_start, a.haystack, a.ask_args):
                done.add(row["trial"])

    for t in range(a.trials):
        if t in done:
            continue
        trial_rng = random.Random(a.seed * 1000 + t)
        part = trial_rng.randrange(a.docs)
        key = trial_rng.randint(1, 50000)
        info = f"The pass key is {key}. Remember it. {key} is the pass key."
        depth = trial_rng.random()
        question = "What is the pass key?"
        if policy:
            statement, question = FACTS[trial_rng.randrange(len(FACTS))]
            info = statement.replace("N", str(key))
        texts = []
        for i, n in enumerate(parts):
            if policy:
                texts.append(plant(policy[i], info, depth) if i == part else policy[i])
                continue
            body = filler(n)
            if i == part:
                pre = int(n * depth)
                body = filler(pre) + "\n" + info + "\n" + filler(n - pre)
            texts.append((TASK + "\n" if i == 0 or a.task_every else "") + body)
        if a.single:
            texts = ["\n".join(texts)]
        planted = 0 if a.single else part
        for i, text in enumerate(texts):
            write(i, text)
        built = subprocess.run([a.bin, "build", src, "-o", idx], check=True, capture_output=True, text=True).stderr
        # "built DIR/doc03.txt.lhx: 1,234 tokens in 4.2 s (294 tokens/s)": what this trial rebuilt
        rebuilt = [(int(m[0].replace(",", "")), float(m[1])) for m in re.findall(r"built .*?: ([\d,]+) tokens in ([\d.]+) s", built)]
        r = subprocess.run([a.bin, "ask", idx, question, "-n", "16", "--json", "--cite"]
                           + (["--answer-start", a.answer_start] if a.answer_start else []) + a.ask_args.split(),
                           check=True, capture_output=True, text=True)
        ans = json.loads(r.stdout.splitlines()[0])
        correct = str(key) in re.findall(r"\d+", ans["answer"])
        cites = ans.get("citations") or []
        top = max(cites, key=lambda c: c["weight"])["document"] if cites else None
        row = {"tokens": a.tokens, "docs": docs, "haystack": a.haystack, "task_every": a.task_every,
               "answer_start": a.answer_start, "ask_args": a.ask_args, "trial": t, "seed": a.seed, "planted": names[planted], "question": question,
               "part": part, "depth": round(depth, 3), "key": key, "answer": ans["answer"], "correct": correct,
               "top_citation": top, "top_citation_right": top == names[planted],
               "first_token_seconds": ans["first_token_seconds"],
               "rebuilt_tokens": sum(n for n, _ in rebuilt), "rebuilt_seconds": round(sum(t for _, t in rebuilt), 1)}
        with open(a.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
