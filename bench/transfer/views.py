"""A transfer through several networks (issue 20, ``transfer --networks N``) against today's
one-network transfer, at equal CPU time, judged by the evaluation network and the held-out
check network (result at the style's RMS, bench/texture.py) and by content similarity.

``python -m bench.transfer views [--seconds 5] [--pairs drums,organ,generated]
[--variants SPEC;SPEC...]``: content the corpus's piano chorale (or, for "generated", the
demo's plucked melody), style the named corpus clip (or the demo's drum loop); one run per
iteration count with the stops off, one thread, its CPU seconds (``time.process_time``,
style targets and the final figures included) beside its figures, so variants are compared
at equal CPU time by reading across. A SPEC is ``networks:scale:filters:iters``: the
number of style networks (1: today's one network; N: ``--networks N``, the content term
alone on the full network; Nb: with ``--base-style``, today's whole network beside the N),
the scale (with one network its style and rhythm weights, with N ``--member-weight``; 1:
balanced, each style branch of each member pulls as hard as the content term), the base
network's filters (harmonic and rhythm) and comma-separated iteration counts. Prints a
markdown table.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bench import lab
from bench.texture import check_distance, check_grams
from randstyle import engine
from randstyle.engine.demo import drum_loop, plucked_melody

SR = 22050
VARIANTS = ("1:1:4096:20,40,80;1:0.5:4096:20,40;2:1:4096:10,20,40;2:0.5:4096:10,20,40;"
            "3:0.5:4096:10,20,40;3:0.25:4096:10,20,40;2:0.5:2048:20,40")


def pair(name: str, seconds: float, corpus: str) -> tuple:
    """(content, style) of a named pair: a corpus clip as style under the piano chorale, or
    the generated melody under the generated drum loop."""
    n = int(seconds * SR)
    if name == "generated":
        return plucked_melody(seconds, SR), drum_loop(4 * seconds, SR, variation=1.0)
    return lab.clip(corpus, "piano_chorale", SR)[:n], lab.clip(corpus, name, SR)


def run(content: np.ndarray, style: np.ndarray, networks: str, scale: float, filters: int,
        maxiter: int) -> dict:
    """One transfer: ``networks`` "1" (``scale`` the style weights) or "N" / "Nb" (N style
    networks at --member-weight ``scale``; b: --base-style)."""
    n = int(networks.rstrip("b"))
    weights = {"member_weight": scale, "base_style": networks.endswith("b")} if n > 1 else \
        {"style_weight": scale, "rhythm_weight": scale}
    started = time.process_time()
    out, report = engine.transfer(content, style, patience=0, maxiter=maxiter, threads=1,
                                  networks=n, n_filters=filters, rhythm_filters=filters,
                                  progress=False, **weights)
    cpu = time.process_time() - started
    f = engine.evaluate(out, SR, style=style, content=content)
    return {"cpu": cpu, "nit": report["nit"], "eval": f["style_distance"],
            "check": check_distance(out, check_grams(style)),
            "content": f["content_similarity"]}


def references(content: np.ndarray, style: np.ndarray) -> list:
    """The scale of a pair: the content itself, content and style played together."""
    n = len(content)
    together = content + np.resize(style, n)
    return [(what, engine.evaluate(x, SR, style=style, content=content), x)
            for what, x in (("the content itself", content), ("content + style", together))]


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--pairs", default="drums,organ,generated")
    p.add_argument("--variants", default=VARIANTS)
    lab.corpus_option(p)
    args = p.parse_args(argv)
    rows = lab.head("pair", "networks", "style scale", "filters", "iterations", "CPU s",
                    "style eval / check", "content")
    for name in args.pairs.split(","):
        content, style = pair(name, args.seconds, args.corpus)
        run(content[:3 * SR], style[:3 * SR], "2", 1.0, 64, 1)  # JIT compiles, outside the timings
        grams = check_grams(style)
        for what, f, x in references(content, style):
            rows.append(f"| {name} | {what} | | | | | {f['style_distance']:.3f} / "
                        f"{check_distance(x, grams):.3f} | {f['content_similarity']:.3f} |")
        for spec in args.variants.split(";"):
            networks, scale, filters, iters = spec.split(":")
            for n in map(int, iters.split(",")):
                r = run(content, style, networks, float(scale), int(filters), n)
                rows.append(f"| {name} | {networks} | {scale} | {filters} | {r['nit']} | "
                            f"{r['cpu']:.1f} | {r['eval']:.3f} / {r['check']:.3f} | "
                            f"{r['content']:.3f} |")
                print(rows[-1], file=sys.stderr, flush=True)
    print(f"content {args.seconds:g} s, one thread, stops off\n\n" + "\n".join(rows))
    return 0

