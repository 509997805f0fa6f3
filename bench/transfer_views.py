"""A transfer through several networks (issue 20), tried before building it into the engine:
today's network (content and style terms) plus style-only members at the halved and doubled
STFT sizes (texture's sizes, their own seeds), against today's transfer, at equal CPU time,
judged by the evaluation network and the held-out check network (result at the style's RMS).

``python -m bench.transfer_views [--seconds 5] [--iters 20,40,80] [--view-iters 10,20,40]
[--extra-filters 2048]``: content the corpus's piano chorale, style its drums; one run per
iteration count with the stops off, one thread, its CPU seconds beside its figures, so the
two variants are compared at equal CPU time by reading across; prints a markdown table.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import engine
from bench.corpus import load_corpus
from bench.texture import check_distance, check_grams
from engine.model.ensemble import Ensemble, member_stfts
from engine.model.network import Network
from engine.run import modes

SR = 22050


def with_style_views(extra_filters: int):
    """modes._objective, with a transfer's objective joined by two style-only members."""
    real = modes._objective

    def objective(cfg, net, styles, **kwargs):
        base = real(cfg, net, styles, **kwargs)
        if "content" not in kwargs:
            return base
        members = [base]
        for i, (n_fft, hop) in enumerate(member_stfts(net.config, 3)):
            if n_fft == net.config.n_fft:
                continue
            c = replace(net.config, n_fft=n_fft, hop_length=hop,
                        seed=net.config.seed + 7919 * (i + 1), n_filters=extra_filters,
                        rhythm_filters=extra_filters)
            members.append(real(cfg, Network(c, backend=net.backend.name), styles))
        return Ensemble(members)
    return objective


def run(content, style, maxiter: int, views: bool, extra: int) -> dict:
    saved = modes._objective
    if views:
        modes._objective = with_style_views(extra)
    try:
        started = time.process_time()
        out, report = engine.transfer(content, style, patience=0, maxiter=maxiter, threads=1)
        cpu = time.process_time() - started
    finally:
        modes._objective = saved
    f = engine.evaluate(out, SR, style=style, content=content)
    return {"cpu": cpu, "nit": report["nit"], "eval": f["style_distance"],
            "check": check_distance(out, check_grams(style)),
            "content": f["content_similarity"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--iters", default="20,40,80", help="today's transfer: iterations")
    p.add_argument("--view-iters", default="10,20,40", help="with the views: iterations")
    p.add_argument("--extra-filters", type=int, default=2048)
    p.add_argument("--corpus", default="/work/corpus")
    args = p.parse_args(argv)
    clips = load_corpus(args.corpus)["clips"]
    content = engine.load(clips["piano_chorale"], sr=SR)[:int(args.seconds * SR)]
    style = engine.load(clips["drums"], sr=SR)
    rows = ["| variant | iterations | CPU s | style eval / check | content |",
            "|---|---|---|---|---|"]
    for views, iters in ((False, args.iters), (True, args.view_iters)):
        for n in map(int, iters.split(",")):
            r = run(content, style, n, views, args.extra_filters)
            rows.append(f"| {'+ 2 style views' if views else 'today'} | {r['nit']} | "
                        f"{r['cpu']:.1f} | {r['eval']:.3f} / {r['check']:.3f} | "
                        f"{r['content']:.3f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    print(f"content {args.seconds:g} s piano chorale, style drums (corpus), one thread\n\n"
          + "\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
