"""The lab's one shared helper: the instrument corpus and table output.

Corpus: its folder (``--corpus``, CORPUS by default), its manifest with absolute paths
(rendered by bench/corpus/render.py when the folder has none), a clip at a sample rate, a
mix with its stems and examples. Tables: markdown rows, a table kept under bench/results/,
JSON lines appended to a log (the measurements behind docs/results/ stand in DATA), and the
time of a 4096² float32 matrix product that several tables read times against.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import soundfile as sf

from randstyle.engine.audio import load
from randstyle.engine.errors import ParameterError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "docs" / "results" / "data"  # the measurements the result pages are made of
RESULTS = ROOT / "bench" / "results"  # tables as printed, kept (not tracked)
CORPUS = "/work/corpus"  # where the lab renders the corpus (docs/corpus.md)
SR = 22050


def corpus_option(p: argparse.ArgumentParser, default: str = CORPUS) -> None:
    """A script's --corpus option."""
    p.add_argument("--corpus", default=default,
                   help=f"the corpus folder (rendered there when absent; default {default})")


def _absolute(manifest: dict, root: str) -> dict:
    def ab(rel: str) -> str:
        path = os.path.join(root, rel)
        if not os.path.exists(path):
            raise ParameterError(f"corpus file missing: {path} (render again with --force)")
        return path
    out = dict(manifest)
    out["mixes"] = [{"name": m["name"], "mix": ab(m["mix"]),
                     "stems": {k: ab(v) for k, v in m["stems"].items()},
                     "examples": {k: ab(v) for k, v in m["examples"].items()}}
                    for m in manifest["mixes"]]
    out["clips"] = {k: ab(v) for k, v in manifest["clips"].items()}
    return out


def load_corpus(dir: str, seconds: float = 10.0) -> dict:
    """The corpus manifest of ``dir`` with absolute paths, rendered first if it is absent."""
    root = os.path.abspath(dir)
    path = os.path.join(root, "corpus.json")
    if not os.path.exists(path):
        from bench.corpus.render import render_corpus  # the renderer stands above the helper
        render_corpus(root, seconds)
    with open(path) as f:
        manifest = json.load(f)
    if abs(manifest.get("seconds", seconds) - seconds) > 1e-9:
        raise ParameterError(f"{path} has {manifest['seconds']} s mixes, asked for {seconds} s:"
                             " use another folder")
    return _absolute(manifest, root)


def clip(corpus: str, name: str, sr: int = SR, seconds: float = 10.0) -> np.ndarray:
    """The corpus clip ``name`` (e.g. "drums", "piano_chorale"), mono float32 at ``sr``, of
    the corpus whose mixes last ``seconds``."""
    clips = load_corpus(corpus, seconds)["clips"]
    if name not in clips:
        raise ParameterError(f"no clip {name!r} in {corpus} (it has {', '.join(clips)})")
    return load(clips[name], sr=sr)


Mix = Tuple[str, np.ndarray, Dict[str, np.ndarray], Dict[str, np.ndarray]]


def mixes(corpus: str, seconds: float = 10.0) -> Tuple[int, List[Mix]]:
    """(sr, [(name, mix, {inst: stem}, {inst: example})]) of the corpus, mono float64 at the
    corpus's own rate (the separation tables score at full precision)."""
    c = load_corpus(corpus, seconds)

    def wav(path: str) -> np.ndarray:
        return sf.read(path, dtype="float64", always_2d=True)[0].mean(axis=1)
    return c["sr"], [(m["name"], wav(m["mix"]), {k: wav(v) for k, v in m["stems"].items()},
                      {k: wav(v) for k, v in m["examples"].items()}) for m in c["mixes"]]


def row(*cells: object) -> str:
    """One markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def head(*names: str) -> List[str]:
    """A markdown table's first two lines: the names and the rule under them."""
    return [row(*names), "|" + "---|" * len(names)]


def append_jsonl(path: str | os.PathLike | None, line: dict) -> None:
    """A measurement: printed as one JSON line, and appended to ``path`` when one is given
    (at once, so that the lines of a long run cut short are kept)."""
    text = json.dumps(line)
    print(text, flush=True)
    if path:
        with open(path, "a") as f:
            f.write(text + "\n")


def write_markdown(out: str | os.PathLike, name: str, text: str) -> str:
    """A table script's result: printed, and kept as OUT/NAME-<time>.md; returns the path."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.md")
    with open(path, "w") as f:
        f.write(text + "\n")
    print(text)
    print(f"written: {path}", file=sys.stderr)
    return path


def matmul_seconds(n: int = 4096, repeat: int = 3) -> float:
    """Best of ``repeat`` n x n float32 matrix products (NumPy's BLAS): the unit of the tables
    that give wall times in matmuls."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return best
