"""Texture quality at equal CPU time, dense against Fastfood harmonic filters
(docs/results/filters.md).

``python -m bench.transfer filters [--seconds 3] [--style-seconds 5] [--maxiter 60] [--corpus DIR]``

For each style (generated: bench/texture.py's drums and melody; real: the corpus clips named
by --clips, rendered by bench/corpus/render.py with fluidsynth) one texture run per filter kind,
today's texture defaults otherwise, its iterates kept (bench/texture.run_variant). Each kept
iterate is measured by the evaluation network (engine.model.evaluate.style_distance) and the
held-out check network (bench/texture.CHECK_NETWORK), never by the loss. The table gives, for
CPU budgets of a fraction of the dense run's total, each kind's distance at its last iterate
within the budget: the quality each buys with the same CPU seconds.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from bench import lab
from bench.texture import RECORDINGS, SR, check_grams, run_variant
from randstyle.engine.model.evaluate import eval_grams

KINDS = ("dense", "fastfood")
BUDGETS = (0.25, 0.5, 1.0)  # fractions of the dense run's CPU seconds


def corpus_clip(corpus: str, name: str, n: int) -> np.ndarray:
    x = lab.clip(corpus, name, SR)
    return np.tile(x, -(-n // len(x)))[:n] if len(x) < n else x[:n]


def at_budget(marks: list, cpu_s: float) -> dict:
    """The last kept iterate whose CPU time is within the budget (the first if none is)."""
    within = [m for m in marks if m["cpu_s"] <= cpu_s]
    return within[-1] if within else marks[0]


def table(runs: list) -> str:
    rows = lab.head("style", "CPU budget", "dense: eval / check (iter)",
                    "fastfood: eval / check (iter)")
    for style in dict.fromkeys(r["signal"] for r in runs):
        by_kind = {r["variant"]: r for r in runs if r["signal"] == style}  # the last of each
        if set(KINDS) - set(by_kind):
            continue
        total = by_kind["dense"]["marks"][-1]["cpu_s"]
        for frac in BUDGETS:
            cells = []
            for k in KINDS:
                m = at_budget(by_kind[k]["marks"], frac * total)
                cells.append(f"{m['distance']:.3f} / {m['check']:.3f} ({m['iter']})")
            rows.append(f"| {style} | {frac * total:.0f} s | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--style-seconds", type=float, default=5.0)
    p.add_argument("--maxiter", type=int, default=60)
    p.add_argument("--signals", default="drums,melody")
    lab.corpus_option(p)
    p.add_argument("--clips", default="piano_chorale,drums")
    p.add_argument("--kinds", default=",".join(KINDS), help="filter kinds to run")
    p.add_argument("--fastfood-maxiter", type=int, default=None,
                   help="iterations of the fastfood runs (default: --maxiter); more lets them "
                        "use the dense run's CPU time (the table takes each kind's last run)")
    p.add_argument("--out", default=str(lab.DATA / "filters.jsonl"))
    p.add_argument("--table", action="store_true", help="only print the table of --out")
    args = p.parse_args(argv)
    if not args.table:
        n = int(args.style_seconds * SR)
        styles = {f"gen:{s}": RECORDINGS[s](args.style_seconds)[:n]
                  for s in args.signals.split(",") if s}
        styles.update({f"corpus:{c}": corpus_clip(args.corpus, c, n)
                       for c in args.clips.split(",") if c})
        for name, style in styles.items():
            grams, checks = eval_grams(style, SR), check_grams(style)
            for kind in args.kinds.split(","):
                maxiter = args.fastfood_maxiter if kind == "fastfood" and \
                    args.fastfood_maxiter else args.maxiter
                res = run_variant(style, args.seconds, maxiter,
                                  {"harmonic_filters": kind, "patience": 0}, grams, checks)
                line = {"signal": name, "variant": kind, **res}
                lab.append_jsonl(args.out, line)
    print(table([json.loads(line) for line in open(args.out)]))
    return 0

