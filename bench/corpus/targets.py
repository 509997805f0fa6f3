"""Issue 20's targets on real instruments: a default transfer and a default texture, run as a
user runs them (`randstyle transfer` / `randstyle texture`, every default), on the corpus's
fluidsynth clips (bench/corpus/render.py), judged by the evaluation network and the held-out check
network (result at the style's RMS) and timed against this machine's 4096² float32 matmul.

``python -m bench.corpus targets [--seconds 10] [--content piano_chorale] [--style drums]
[--modes transfer,texture] [--options "--preset percussive"]``: prints a markdown table: style
distance (eval / check), content similarity, wall seconds and wall in matmuls, the written
file's integrated loudness against the one it matches (ITU-R BS.1770, pyloudnorm).
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from bench import lab
from bench.texture import check_distance, check_grams
from randstyle import engine
from randstyle.engine import loudness

SR = 22050


def run_cli(argv: list) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "randstyle", *argv, "-q"], check=True)
    return time.perf_counter() - started


def measure(mode: str, content: Path, style: Path, out: Path, seconds: float,
            options: tuple = ()) -> dict:
    argv = [mode, str(content), "--style", str(style)] if mode == "transfer" else \
        [mode, str(style), "--seconds", str(seconds)]
    wall = run_cli([*argv, *options, "-o", str(out)])
    y, _ = sf.read(str(out), dtype="float64")
    s = engine.load(str(style), sr=SR)
    report = json.loads(out.with_suffix(".json").read_text())
    row = {"mode": mode, "wall_s": wall, "nit": report.get("nit"),
           "eval": engine.evaluate(y, SR, style=s)["style_distance"],
           "check": check_distance(y, check_grams(s))}
    ref = engine.load(str(content), sr=SR) if mode == "transfer" else s
    if mode == "transfer":
        row["content"] = engine.evaluate(y, SR, content=ref)["content_similarity"]
    row["lufs_out"], row["lufs_ref"] = loudness.integrated(y, SR), loudness.integrated(ref, SR)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--content", default="piano_chorale")
    p.add_argument("--style", default="drums")
    p.add_argument("--modes", default="transfer,texture")
    lab.corpus_option(p)
    p.add_argument("--options", default="", help="more CLI options of every run, as one "
                                                 "string (e.g. \"--preset percussive\")")
    args = p.parse_args(argv)
    options = tuple(shlex.split(args.options))
    clips = lab.load_corpus(args.corpus)["clips"]
    unit = lab.matmul_seconds()
    rows = lab.head("run", "style distance eval / check", "content similarity", "iterations",
                    "wall s", "wall in 4096² matmuls", "loudness out / matched (LUFS)")
    with tempfile.TemporaryDirectory() as tmp:
        c = Path(tmp) / "content.wav"
        sf.write(str(c), engine.load(clips[args.content], sr=SR)[:int(args.seconds * SR)], SR)
        for mode in args.modes.split(","):
            r = measure(mode, c, Path(clips[args.style]), Path(tmp) / f"{mode}.wav",
                        args.seconds, options)
            rows.append(f"| {mode} | {r['eval']:.3f} / {r['check']:.3f} | "
                        f"{r.get('content', float('nan')):.3f} | {r['nit']} | {r['wall_s']:.1f} | "
                        f"{r['wall_s'] / unit:.0f} | {r['lufs_out']:.2f} / {r['lufs_ref']:.2f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    print(f"{args.seconds:g} s, content {args.content}, style {args.style} (corpus), every "
          f"default{' but ' + args.options if options else ''}; 4096² float32 matmul: "
          f"{unit * 1e3:.0f} ms\n\n" + "\n".join(rows))
    return 0

