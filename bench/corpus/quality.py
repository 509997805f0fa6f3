"""Quality against time on real instruments, old defaults and new (issue 20, the README's
table): ``python -m bench.corpus quality --mode transfer|texture [--seconds 10]
[--variants old,full,new] [--out LOG.jsonl]`` runs; ``--table LOG.jsonl`` prints the table;
``--scale`` the references it is read against.

Content: the corpus's piano chorale (bench/corpus/render.py, fluidsynth); style: its 20 s drum clip
(``--content``, ``--style`` name other clips, or gen:drums, gen:melody, gen:pad the generated
recordings of bench/texture.py, the style 20 s). Each variant is one run through the engine's
API on one thread (``threads=1``) whose iterates are kept at MARKS (and its returned result);
each kept iterate is measured afterwards, outside the run, by the evaluation network and the
held-out check network (bench/texture.py), the result at the style's RMS, and for a transfer
by its content similarity. The clock is the process's CPU seconds since the call (setup and
the style's statistics included), the fair clock on a shared 2-core machine.

Variants: ``old`` = the defaults before issue 20's work (transfer: the seed's noise start at
content weight 1, 300 iterations; texture: one network from faint noise, 300 iterations);
``full`` = today's settings with the stops off to 300 iterations (the curve); ``new`` =
today's defaults with their own stop (the point a user gets); or NAME=JSON overrides.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bench import lab
from bench.texture import RECORDINGS, check_distance, check_grams
from randstyle import engine
from randstyle.engine.model.evaluate import chroma_similarity as evaluate_chroma
from randstyle.engine.model.evaluate import content_similarity, eval_grams, style_distance

SR = 22050
GENERATED_STYLE_SECONDS = 20.0  # as long as the corpus's drum clip
MARKS = (10, 20, 30, 50, 75, 100, 150, 200, 300)
NO_STOPS = {"patience": 0, "eval_every": 0, "eval_patience": 0}
VARIANTS = {
    "transfer": {"old": {"init": "noise", "content_weight": 1.0, **NO_STOPS},
                 "full": NO_STOPS, "new": {}},
    "texture": {"old": {"networks": 1, "init": "noise", "spectrum_weight": 0.0, **NO_STOPS},
                "full": NO_STOPS, "new": {}},
}


def run_marked(mode: str, content, style, seconds: float, overrides: dict) -> dict:
    """One run; its iterates at MARKS and its result, each with the CPU seconds by then."""
    kept: dict = {}
    cpu0 = time.process_time()

    def keep(x, history: list) -> None:
        if len(history) in MARKS:
            kept[len(history)] = (np.array(x, dtype=np.float32), time.process_time() - cpu0)

    common = {"maxiter": 300, "progress": False, "threads": 1, "checkpoint": keep,
              "checkpoint_every": 1, **overrides}
    if mode == "transfer":
        out, report = engine.transfer(content, style, **common)
    else:
        out, report = engine.texture(style, seconds=seconds, **common)
    done = time.process_time() - cpu0
    return {"kept": kept, "out": (np.asarray(out, np.float32), done),
            "nit": report["nit"], "returned": report.get("returned_iteration", report["nit"]),
            "stop_reason": report["stop_reason"], "choice": report.get("choice")}


def chroma_similarity(x: np.ndarray, content: np.ndarray) -> float:
    """A held-out content measure beside content_similarity (whose log-mel a content term on
    mel features comes near): engine.model.evaluate's chroma similarity. (Tables before
    issue 29 read an earlier chroma of this file: log1p of STFT power summed by pitch
    class over 65 Hz-4 kHz.)"""
    return evaluate_chroma(x, content, SR)


def measured(x: np.ndarray, grams: dict, checks: dict, content) -> dict:
    m = {"eval": round(style_distance(x, None, SR, style_grams=grams)["style_distance"], 4),
         "check": round(check_distance(x, checks), 4)}
    if content is not None:
        m["content"] = round(content_similarity(x, content, SR), 4)
        m["chroma"] = round(chroma_similarity(x, content), 4)
    return m


def clip(name: str, corpus: str, seconds: float) -> np.ndarray:
    """A corpus clip by name, or gen:NAME a generated recording of bench/texture.py
    (RECORDINGS: drums, melody, pad) of ``seconds``: the check that generated signals and
    real instruments agree."""
    if name.startswith("gen:"):
        return RECORDINGS[name[4:]](seconds)
    return lab.clip(corpus, name, SR)


def run(args) -> None:
    style = clip(args.style, args.corpus, GENERATED_STYLE_SECONDS)
    content = clip(args.content, args.corpus, args.seconds)[:int(args.seconds * SR)] \
        if args.mode == "transfer" else None
    grams, checks = eval_grams(style, SR), check_grams(style)
    for v in args.variants.split(";" if "=" in args.variants else ","):
        name, _, js = v.partition("=")
        overrides = json.loads(js) if js else VARIANTS[args.mode][name]
        r = run_marked(args.mode, content, style, args.seconds, overrides)
        marks = [{"iter": it, "cpu_s": round(cpu, 1), **measured(x, grams, checks, content)}
                 for it, (x, cpu) in sorted(r["kept"].items())]
        result = {"iter": r["returned"], "nit": r["nit"], "cpu_s": round(r["out"][1], 1),
                  **measured(r["out"][0], grams, checks, content)}
        line = {"mode": args.mode, "variant": name, "overrides": overrides,
                "seconds": args.seconds, "content": args.content if content is not None
                else None, "style": args.style, "marks": marks, "result": result,
                "stop_reason": r["stop_reason"]}
        lab.append_jsonl(args.out, line)


def scale(args) -> str:
    """The scale the table is read on: references measured against the whole style clip."""
    style, content = lab.clip(args.corpus, args.style), lab.clip(args.corpus, args.content)
    n = int(args.seconds * SR)
    grams, checks = eval_grams(style, SR), check_grams(style)
    rng = np.random.default_rng(0)
    chunk = SR // 2
    chunks = [style[i:i + chunk] for i in range(0, len(style) - chunk + 1, chunk)]
    rng.shuffle(chunks)

    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    refs = {f"the style's first {args.seconds:g} s": style[:n],
            f"the style's last {args.seconds:g} s": style[-n:],
            "the style in shuffled 0.5 s chunks": np.concatenate(chunks)[:n],
            "the content": content[:n],
            "content and style played together (equal RMS)":
                content[:n] / rms(content[:n]) + style[:n] / rms(style[:n])}
    rows = lab.head("reference", "eval / check", "content similarity", "chroma")
    for name, x in refs.items():
        m = measured(np.asarray(x, np.float32), grams, checks, content[:n])
        rows.append(f"| {name} | {m['eval']:.3f} / {m['check']:.3f} | {m['content']:.3f} | "
                    f"{m['chroma']:.3f} |")
    return "\n".join(rows)


def cell(m: dict) -> str:
    content = f", {m['content']:.2f}" if "content" in m else ""
    content += f", {m['chroma']:.2f}" if "chroma" in m else ""
    return f"{m['eval']:.3f} / {m['check']:.3f}{content} ({m['cpu_s']:.0f} s)"


def table(path: str, at: tuple = (10, 30, 75, 150, 300)) -> str:
    """Per run: eval / check (, content) at the marks ``at`` with the CPU seconds by then,
    and the returned result with the iteration it came from."""
    rows = lab.head("run", "variant", *(f"{i} it" for i in at), "returned")
    for line in open(path):
        r = json.loads(line)
        marks = {m["iter"]: m for m in r["marks"]}
        res = r["result"]
        what = f"{r['mode']} {r['seconds']:g} s, {r['style']}"
        rows.append(f"| {what} | {r['variant']} | "
                    + " | ".join(cell(marks[i]) if i in marks else "-" for i in at)
                    + f" | it {res['iter']}: {cell(res)} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=("transfer", "texture"), default="transfer")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--content", default="piano_chorale")
    p.add_argument("--style", default="drums")
    p.add_argument("--variants", default="old,full,new")
    lab.corpus_option(p)
    p.add_argument("--out", default=None, help="append one JSON line per run here")
    p.add_argument("--table", metavar="JSONL", default=None)
    p.add_argument("--scale", action="store_true", help="only print the references' table")
    args = p.parse_args(argv)
    if args.scale:
        print(scale(args))
    elif args.table:
        print(table(args.table))
    else:
        run(args)
    return 0

