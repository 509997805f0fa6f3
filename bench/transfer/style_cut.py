"""Transfer with the style's factor cut (--style-factor-tol, docs/design.md §8) against the
exact factor, judged by the evaluation network and the held-out check network at equal
iterations and equal CPU time, never by the loss.

``python -m bench.transfer style-cut [--seconds 5] [--maxiter 40] [--filters fastfood]``:
content the corpus's piano chorale, style its drums joined with its organ (real recordings,
no repeats), one transfer per tolerance with the stops off; prints a markdown table.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bench import lab
from bench.texture import check_distance, check_grams
from randstyle import engine

SR = 22050


def run(content, style, tol: float, args) -> dict:
    cfg = engine.TransferConfig(harmonic_filters=args.filters, style_factor_tol=tol,
                                maxiter=args.maxiter, patience=0, threads=1)
    started = time.process_time()
    out, report = engine.transfer(content, style, cfg)
    cpu = time.process_time() - started
    figures = engine.evaluate(out, SR, style=style, content=content)
    return {"tol": tol, "cpu_s": cpu, "nit": report.get("nit"),
            "style": figures["style_distance"], "content": figures["content_similarity"],
            "check": check_distance(out, check_grams(style)), "rows": report.get("style_rows")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--maxiter", type=int, default=40)
    p.add_argument("--filters", default="fastfood", choices=["dense", "fastfood"])
    lab.corpus_option(p)
    args = p.parse_args(argv)
    content = lab.clip(args.corpus, "piano_chorale", SR)[:int(args.seconds * SR)]
    style = np.concatenate([lab.clip(args.corpus, c, SR) for c in ("drums", "organ")])
    rows = lab.head("--style-factor-tol", "iterations", "CPU s", "style distance (eval)",
                    "check distance", "content similarity")
    for tol in (0.0, engine.NetworkConfig().style_factor_tol):
        r = run(content, style, tol, args)
        rows.append(f"| {r['tol']:g} | {r['nit']} | {r['cpu_s']:.1f} | {r['style']:.4f} | "
                    f"{r['check']:.4f} | {r['content']:.4f} |")
        print(rows[-1], file=sys.stderr, flush=True)
    print(f"content {args.seconds:g} s (piano chorale), style {len(style) / SR:.0f} s "
          f"(drums + organ), {args.filters} filters, one thread\n\n" + "\n".join(rows))
    return 0

