#!/usr/bin/env python3
"""Cross-check lhindex against the independent NumPy reference (../shared/reference/longheads-numpy/)
on the same passkey prompts: last-token logits and the last token's LongHeads selections.

For each passkey prompt (the reference's passkey_gen.py, --chars C, seed S) this script
  1. runs `lhindex trace --text PROMPT --json` (dense, and LongHeads for every --attn-length and --kv
     asked), which also gives the token ids, so no llama.cpp server is needed;
  2. feeds the same token ids to the reference's Model.dense_forward and LongHeads.prefill
     (w=256, block prefill scored by the sum, the chunk(s) of the last --tail tokens per token),
     recording the reference's selections of the last prompt token with its own trace_pos hook;
  3. reports max |Δlogit|, relative errors, argmax / top-5 agreement, and the fraction of
     (layer, head) pairs whose selection for the last token is identical; for mismatches, how many
     chunks differ and how close the reference's own scores were to a tie at the cut.
One JSON object per comparison goes to --out (JSON lines) and a readable line to stdout.
The reference files are only imported, never modified. See docs/numpy-crosscheck.md.

usage: OMP_NUM_THREADS=1 /tmp/npvenv/bin/python scripts/compare-numpy.py \
           [--chars 15000] [--seeds 0-2] [--attn-length 2048] [--kv f16,f32] [--dense] [--out FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_REF = os.environ.get("LHINDEX_NUMPY_REF", os.path.join(REPO, "..", "shared", "reference", "longheads-numpy"))


def parse_list(s, conv=int):
    out = []
    for part in s.split(","):
        if "-" in part and conv is int:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(conv(part))
    return out


def lhindex_trace(binary, prompt_file, extra, model=None, cache_dir=None):
    cmd = [binary, "trace", "--text", prompt_file, "--json"] + extra
    if model:
        cmd += ["-m", model]
    cached = None
    if cache_dir:
        import hashlib
        h = hashlib.sha256(("\0".join(cmd[1:]) + "\0" + open(prompt_file).read()).encode()).hexdigest()[:20]
        cached = os.path.join(cache_dir, f"trace-{h}.json")
        if os.path.exists(cached):
            with open(cached) as f:
                return json.load(f)
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    d = json.loads(p.stdout)
    d["seconds"] = round(time.time() - t, 1)
    d["command"] = " ".join(cmd)
    if cached:
        with open(cached, "w") as f:
            json.dump(d, f)
    return d


# lhindex trace flags per output-projection path: f32 activations (sgemm), or the 8-bit-activation
# kernel that generation uses for one row (as llama.cpp does).
LOGITS = {"f32": ["--f32-logits"], "q8": []}


def compare_logits(ref, lh):
    ref = np.asarray(ref, np.float64)
    lh = np.asarray(lh, np.float64)
    d = lh - ref
    top_ref = np.argsort(-ref, kind="stable")[:10]
    top_lh = np.argsort(-lh, kind="stable")[:10]
    # log-softmax difference: what a sampler or perplexity would see
    lsm = lambda x: x - (x.max() + np.log(np.exp(x - x.max()).sum()))
    return dict(
        max_abs=float(np.abs(d).max()),
        mean_abs=float(np.abs(d).mean()),
        rel_l2=float(np.linalg.norm(d) / np.linalg.norm(ref)),
        max_abs_over_max_logit=float(np.abs(d).max() / np.abs(ref).max()),
        max_abs_logprob_top10=float(np.abs(lsm(lh) - lsm(ref))[top_ref].max()),
        argmax_ref=int(top_ref[0]), argmax_lh=int(top_lh[0]),
        argmax_agree=bool(top_ref[0] == top_lh[0]),
        top5_same_set=bool(set(top_ref[:5]) == set(top_lh[:5])),
        top5_same_order=bool(list(top_ref[:5]) == list(top_lh[:5])),
        top10_overlap=len(set(top_ref) & set(top_lh)),
        ref_top5=[[int(i), round(float(ref[i]), 4)] for i in top_ref[:5]],
        lh_top5=[[int(i), round(float(lh[i]), 4)] for i in top_lh[:5]],
        ref_margin_top1_top2=float(ref[top_ref[0]] - ref[top_ref[1]]),
    )


class _StableArgpartition:
    """Stands in for numpy inside longheads.py: argpartition becomes a stable argsort, so among equal
    scores the lower chunk index is taken (lhindex's ChunkSelector.topK rule). Callers only use the
    first k entries, which a full stable sort gives correctly."""

    def __init__(self, np_module):
        self._np = np_module

    def __getattr__(self, name):
        return getattr(self._np, name)

    def argpartition(self, a, kth, axis=-1):
        return self._np.argsort(a, axis=axis, kind="stable")


def make_reference(variant, LongHeads, longheads_module, m, **kw):
    """A reference LongHeads for `variant`, and a function undoing any module patch."""
    if variant == "plain":
        return LongHeads(m, **kw), lambda: None
    if variant == "stable-ties":
        longheads_module.np = _StableArgpartition(np)
        return LongHeads(m, **kw), lambda: setattr(longheads_module, "np", np)
    if variant == "f64-scores":
        class F64Scores(LongHeads):
            def _summarize_range(self, l, q, c0, c1, batch=32):
                if self.S[l].dtype != np.float64:
                    self.S[l] = self.S[l].astype(np.float64)   # q·s then runs in float64
                return super()._summarize_range(l, q, c0, c1, batch)
        return F64Scores(m, **kw), lambda: None
    raise SystemExit(f"unknown variant {variant}")


def reference_margins(lhref, n):
    """Per (layer, head): how close the reference's last-token top-k cut was to a tie, as
    (k-th best score - (k+1)-th best) / (best - worst) over the candidates. None when not scored."""
    w, K = lhref.w, lhref.K
    c = (n - 1) // w
    if c < K or n % w == 0:          # dense window, or the last query is not kept in QB
        return {}
    k = K - 3
    out = {}
    for l in range(lhref.m.n_layer):
        for h in range(lhref.H):
            q = lhref.QB[l][h, (n - 1) % w]
            sc = np.sort(lhref.S[l][h, 1:c - 1] @ q)[::-1]
            if len(sc) <= k:
                continue
            spread = float(sc[0] - sc[-1]) or 1.0
            out[(l, h)] = float(sc[k - 1] - sc[k]) / spread
    return out


def compare_selections(ref_trace, lh_sel, margins, n_layer, n_head, tokens, w):
    def content(chunks):      # the token ids the window's past slots hold, in slot order
        return [tuple(tokens[j * w:(j + 1) * w]) for j in chunks]

    same, mismatches, first_layer = 0, [], None
    for l in range(n_layer):
        for h in range(n_head):
            a = ref_trace.get((l, h))
            b = lh_sel[l][h] if lh_sel and lh_sel[l] is not None else None
            if a is None or b is None:
                mismatches.append(dict(layer=l, head=h, missing=True))
                continue
            a = sorted(int(x) for x in a)
            b = sorted(b)
            if a == b:
                same += 1
                continue
            first_layer = l if first_layer is None else first_layer
            mismatches.append(dict(layer=l, head=h, chunks_differ=len(set(a) ^ set(b)) // 2,
                                   ref_only=sorted(set(a) - set(b)), lh_only=sorted(set(b) - set(a)),
                                   ref_tie_margin=margins.get((l, h)),
                                   swapped_chunks_same_tokens=sorted(content(set(a) - set(b))) == sorted(content(set(b) - set(a)))))
    total = n_layer * n_head
    same_content = sum(1 for m in mismatches if m.get("swapped_chunks_same_tokens"))
    diffs = [m["chunks_differ"] for m in mismatches if "chunks_differ" in m]
    all_m = [v for v in margins.values()]
    mis_m = [m["ref_tie_margin"] for m in mismatches if m.get("ref_tie_margin") is not None]
    return dict(
        identical=same, total=total, identical_fraction=same / total,
        first_differing_layer=first_layer,
        swaps_between_same_token_chunks=same_content,
        mismatch_chunks_differ_histogram={str(k): diffs.count(k) for k in sorted(set(diffs))},
        median_tie_margin_all=float(np.median(all_m)) if all_m else None,
        median_tie_margin_mismatched=float(np.median(mis_m)) if mis_m else None,
        mismatches=mismatches,
    )


def print_line(head, lg, sl):
    txt = (f"{head}: max|Δ| {lg['max_abs']:.4f} rel {lg['rel_l2']:.2e} "
           f"argmax {'=' if lg['argmax_agree'] else '≠'} "
           f"top5 {'same' if lg['top5_same_set'] else 'differ'}{' (order too)' if lg['top5_same_order'] else ''}")
    if sl is None:
        txt += "; no windowed selection (the prompt fits A: dense path)"
    elif sl is not False:
        txt += f"; selections {sl['identical']}/{sl['total']} identical"
        if sl["identical"] < sl["total"]:
            txt += (f" (first diff at layer {sl['first_differing_layer']}, chunks differing "
                    f"{sl['mismatch_chunks_differ_histogram']}, {sl['swaps_between_same_token_chunks']} swaps "
                    f"between chunks of identical tokens, median tie margin mismatched "
                    f"{sl['median_tie_margin_mismatched']:.1e} vs all {sl['median_tie_margin_all']:.1e})")
    print(txt, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chars", type=int, default=15000, help="passkey filler characters (15000 ≈ 4k tokens)")
    ap.add_argument("--seeds", default="0-2")
    ap.add_argument("--attn-length", default="2048", help="LongHeads A values, comma-separated")
    ap.add_argument("--kv", default="f16,f32", help="lhindex key/value storage precisions to run")
    ap.add_argument("--lh-logits", default="f32", help="LongHeads runs: f32 and/or q8 output projection (see LOGITS)")
    ap.add_argument("--chunk-size", type=int, default=256)
    ap.add_argument("--tail", type=int, default=32)
    ap.add_argument("--dense", action="store_true", help="also compare dense attention (calibration)")
    ap.add_argument("--lhindex", default=os.path.join(REPO, ".build", "release", "lhindex"))
    ap.add_argument("--model", default=None, help="GGUF (default: the reference's and lhindex's default)")
    ap.add_argument("--reference", default=DEFAULT_REF)
    ap.add_argument("--out", default=None, help="append one JSON line per comparison")
    ap.add_argument("--cache", default=None, help="directory keeping lhindex traces between runs")
    ap.add_argument("--variants", default="plain,stable-ties",
                    help="reference variants: plain (as written), stable-ties (ties in the top-k go to the "
                         "lower chunk index, lhindex's rule), f64-scores (selection scores in float64: "
                         "the reference against a rounding-perturbed copy of itself)")
    args = ap.parse_args()

    ref_dir = os.path.abspath(args.reference)
    if args.model:
        os.environ["LHINDEX_MODEL"] = args.model
    sys.path.insert(0, ref_dir)
    from model import Model          # noqa: E402  (the reference, imported read-only)
    import longheads as longheads_module  # noqa: E402
    from longheads import LongHeads  # noqa: E402

    t = time.time()
    m = Model()
    print(f"reference model loaded in {time.time() - t:.0f} s from {ref_dir}", flush=True)
    out = open(args.out, "a") if args.out else None
    As = parse_list(args.attn_length)
    kvs = parse_list(args.kv, str)
    tmp = tempfile.mkdtemp(prefix="lh-xcheck-")

    def emit(rec):
        if out:
            out.write(json.dumps(rec) + "\n")
            out.flush()

    for seed in parse_list(args.seeds):
        p = subprocess.run([sys.executable, os.path.join(ref_dir, "passkey_gen.py"), str(args.chars), str(seed)],
                           capture_output=True, text=True, check=True)
        prompt_file = os.path.join(tmp, f"passkey-{args.chars}-{seed}.txt")
        with open(prompt_file, "w") as f:
            f.write(p.stdout)
        key = p.stderr.strip()
        tokens = None
        base = dict(chars=args.chars, seed=seed, key=key)

        if args.dense:
            ref = None
            for lp in ("f32", "q8"):
                tr = lhindex_trace(args.lhindex, prompt_file, ["--mode", "dense"] + LOGITS[lp], args.model,
                                   args.cache)
                tokens = tr["tokens"]
                if ref is None:
                    t = time.time()
                    ref = m.dense_forward(tokens, all_logits=False)[0]
                    ref_s = time.time() - t
                rec = dict(base, kind="dense", logit_projection=lp, tokens=len(tokens), lhindex_seconds=tr["seconds"],
                           numpy_seconds=round(ref_s, 1), logits=compare_logits(ref, tr["last_logits"]),
                           lhindex_command=tr["command"])
                print_line(f"chars {args.chars} seed {seed} ({len(tokens)} tok) dense, {lp} logits", rec["logits"], False)
                emit(rec)

        for A in As:
            traces, plain = {}, None
            for kv, lp in [(kv, lp) for kv in kvs for lp in parse_list(args.lh_logits, str)]:
                # every setting spelled out: the reference's method, whatever lhindex's defaults become
                extra = LOGITS[lp] + ["--mode", "longheads", "--chunk-size", str(args.chunk_size), "--attn-length", str(A),
                         "--select", "block", "--positioning", "contiguous", "--sinks", "1", "--local", "1",
                         "--question-length", str(A), "--question-positioning", "contiguous",
                         "--question-scoring", "summaries", "--question-per-kv-head", "no",
                         "--kv", kv, "--tail", str(args.tail)]
                traces[kv, lp] = tr = lhindex_trace(args.lhindex, prompt_file, extra, args.model, args.cache)
                if tokens is None:
                    tokens = tr["tokens"]
                assert tr["tokens"] == tokens, "lhindex tokenized the prompt differently between runs"
            n = len(tokens)
            qs = max(0, n - args.tail) // args.chunk_size * args.chunk_size
            for variant in parse_list(args.variants, str):
                lhref, undo = make_reference(variant, LongHeads, longheads_module, m, A=A, w=args.chunk_size,
                                             block_score="sum", tail_tokens=args.tail)
                lhref.trace_pos = n - 1
                t = time.time()
                try:
                    ref = lhref.prefill(tokens, n_new=1)[-1]
                finally:
                    undo()
                ref_s = time.time() - t
                margins = reference_margins(lhref, n)
                if variant == "plain":
                    plain = (ref, dict(lhref.trace))
                elif plain is not None:
                    # the reference against its own variant: how much a tie rule or rounding moves it
                    rec = dict(base, kind="reference-self", A=A, variant=variant, tokens=n,
                               logits=compare_logits(plain[0], ref),
                               selections=compare_selections(plain[1], [[[int(x) for x in lhref.trace[(l, h)]]
                                                                         if (l, h) in lhref.trace else None
                                                                         for h in range(m.n_head)]
                                                                        for l in range(m.n_layer)],
                                                             margins, m.n_layer, m.n_head, tokens, args.chunk_size)
                               if lhref.trace else None)
                    print_line(f"chars {args.chars} seed {seed} ({n} tok) reference plain vs {variant} A={A}",
                               rec["logits"], rec["selections"])
                    emit(rec)
                for (kv, lp), tr in traces.items():
                    assert tr["question_start"] == qs, (tr["question_start"], qs)
                    assert f"A={A} Aq={A} " in tr["settings"] and "positioning=contiguous/contiguous" in tr["settings"], tr["settings"]
                    rec = dict(base, kind="longheads", A=A, kv=kv, logit_projection=lp, variant=variant, tokens=n,
                               question_start=qs, lhindex_seconds=tr["seconds"], numpy_seconds=round(ref_s, 1),
                               logits=compare_logits(ref, tr["last_logits"]),
                               selections=compare_selections(lhref.trace, tr["selections"], margins,
                                                             m.n_layer, m.n_head, tokens,
                                                             args.chunk_size) if lhref.trace else None,
                               lhindex_command=tr["command"])
                    print_line(f"chars {args.chars} seed {seed} ({n} tok) LH A={A} kv={kv}, {lp} logits, "
                               f"reference {variant}", rec["logits"], rec["selections"])
                    emit(rec)
                del lhref


if __name__ == "__main__":
    main()
