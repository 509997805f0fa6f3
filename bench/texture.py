"""Texture quality against time: ``python -m bench.texture [--seconds 5] [--maxiter 300] ...``.

For each generated style (a varied drum loop, the demo melody, the demo chord pad) and each
variant (today's single-network default and the texture defaults, or any TextureConfig
overrides given as JSON), one texture run whose iterates are kept at the marked iterations;
each kept iterate is then measured by engine.model.evaluate.style_distance (an independent
network, never the loss). The wall time at a mark is the optimizer's clock at that
iteration; cpu_s is the process's CPU time since the call (setup and style Grams included),
the fairer clock on a shared machine. Measuring happens after the run, outside both.

Every kept iterate is also measured by a second held-out network (CHECK_NETWORK: another
STFT, seed, widths and mel bins), so that a variant which merely suits the evaluation
network shows as a gap between the two ("check" in the output).

References on the same scales: noise, noise with the style's average spectrum, the templates
start alone, a random-phase copy of the style's STFT magnitudes, the style cut into 0.5 s
chunks and shuffled, and "halves": the next ``--seconds`` of the same generated recording,
i.e. new material of the same kind, against the same style clip.

``--corpus DIR`` adds real instruments as signals "corpus:NAME" (a clip of bench/corpus/render.py's
manifest, e.g. corpus:drums): the whole clip is the style, and "halves" is its last
``--seconds`` (part of the style itself: the distance between a stretch and its whole).
``--set JSON`` merges the same overrides into every variant (e.g. one thread and no stop
rule, so that every variant runs to --maxiter and is read at equal CPU time).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from scipy.signal import istft, stft

from bench import lab
from randstyle import engine
from randstyle.engine import demo
from randstyle.engine.config import TextureConfig
from randstyle.engine.model.evaluate import eval_grams, style_distance
from randstyle.engine.run.common import build_network, style_branches
from randstyle.engine.run.modes import texture_objective
from randstyle.engine.run.start import style_noise, template_noise

SR = 22050
MARKS = (10, 20, 30, 50, 75, 100, 150, 200, 250, 300)
# The texture before issue 10 (one network, faint white-noise start), spelled out so it
# stays the baseline when defaults change; "ensemble": three networks at one STFT size from
# the same start; "new": those with the spectrum start (the default until the STFT sizes
# and templates were measured); "multires": members at three STFT sizes; "grams": the
# default before the band spectrum term (multires with the templates start); "default":
# today's texture default (that with the band spectrum term). All but "default" keep the
# band spectrum term off, as they ran.
VARIANTS = {"baseline": {"networks": 1, "init": "noise", "spectrum_weight": 0.0},
            "ensemble": {"init": "noise", "n_ffts": "2048,2048,2048",
                         "rhythm_widths": "25,50,100", "spectrum_weight": 0.0},
            "new": {"init": "spectrum", "n_ffts": "2048,2048,2048",
                    "rhythm_widths": "25,50,100", "spectrum_weight": 0.0},
            "multires": {"init": "spectrum", "spectrum_weight": 0.0},
            "grams": {"spectrum_weight": 0.0},
            "default": {}}


def varied_drums(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """demo.drum_loop is exactly periodic; this one draws each bar's noise (snare, hats),
    gain and tempo-locked bass anew, so two stretches of it differ as a recording's do."""
    rng = np.random.default_rng(seed)
    bar = int(2 * sr)  # one 4/4 bar at 120 bpm
    n = int(seconds * sr)
    out = np.zeros(n + bar, dtype=np.float32)
    for i, start in enumerate(range(0, n, bar)):
        seg = demo.drum_loop(2.0, sr, seed=int(rng.integers(1 << 30)))
        out[start:start + bar] += seg[:bar] * rng.uniform(0.7, 1.0)
    return out[:n]


RECORDINGS = {
    "drums": lambda s: varied_drums(s, SR, seed=0),
    "melody": lambda s: demo.plucked_melody(s, SR, seed=0),
    "pad": lambda s: demo.chord_pad(s, SR, seed=2),
}


def random_phase(x: np.ndarray, sr: int, seed: int = 0) -> np.ndarray:
    """The STFT magnitudes of x with uniformly random phases, back to samples."""
    _, _, Z = stft(x, fs=sr, nperseg=2048, noverlap=2048 - 512)
    rng = np.random.default_rng(seed)
    Z = np.abs(Z) * np.exp(2j * np.pi * rng.random(Z.shape))
    return istft(Z, fs=sr, nperseg=2048, noverlap=2048 - 512)[1][:len(x)].astype(np.float32)


def shuffled_chunks(x: np.ndarray, n: int, seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    """x cut into ``seconds``-long chunks, shuffled, and the first n samples of that."""
    size = int(seconds * SR)
    chunks = [x[i:i + size] for i in range(0, len(x) - size + 1, size)]
    order = np.random.default_rng(seed).permutation(len(chunks))
    return np.concatenate([chunks[i] for i in order])[:n].astype(np.float32)


def spectral_noise(style: np.ndarray, n: int, seed: int) -> np.ndarray:
    """The engine's texture start: noise with the style's long-term spectrum."""
    return style_noise([(style, 1.0)], n, 2048, 512, seed=seed).astype(np.float32)


# A second held-out measure: the evaluation network's distance with another STFT (4096/1024),
# seed, widths and mel bins, so that a variant that merely suits EVAL_NETWORK's 1024-sample
# STFT shows up as a gap between the two.
CHECK_NETWORK = dict(n_fft=4096, hop_length=1024, n_filters=1024, kernel_size=3, n_mels=24,
                     rhythm_filters=1024, rhythm_kernel_size=16, seed=777, dtype="float32")


def check_grams(x: np.ndarray) -> dict:
    return eval_grams(x, SR, network=CHECK_NETWORK)


def check_distance(x: np.ndarray, target: dict) -> float:
    return style_distance(x, None, SR, style_grams=target,
                          network=CHECK_NETWORK)["style_distance"]


def references(other: np.ndarray, style: np.ndarray, n: int, grams: dict,
               checks: dict) -> dict:
    rng = np.random.default_rng(7)
    cands = {
        "noise": (0.1 * rng.standard_normal(n)).astype(np.float32),
        "spectral_noise": spectral_noise(style, n, seed=7),
        "templates": template_noise([(style, 1.0)], n, 2048, 512, seed=7).astype(np.float32),
        "random_phase": random_phase(style[:n], SR),
        "shuffled": shuffled_chunks(style, n),
        "halves": other,
    }
    out = {k: style_distance(v, None, SR, style_grams=grams)["style_distance"]
           for k, v in cands.items()}
    out.update({f"{k}_check": check_distance(v, checks) for k, v in cands.items()})
    return out


def run_variant(style: np.ndarray, seconds: float, maxiter: int, overrides: dict,
                grams: dict, checks: dict) -> dict:
    kept: dict = {}

    cpu0 = time.process_time()

    def keep(x: np.ndarray, history: list) -> None:
        if len(history) in MARKS:
            kept[len(history)] = (np.array(x, dtype=np.float32), history[-1]["time_s"],
                                  time.process_time() - cpu0)

    overrides = dict(overrides)
    if overrides.get("init") == "spectral":  # the name this bench gave the spectrum start
        overrides["init"] = "spectrum"
    t0 = time.perf_counter()
    x, report = engine.texture(style, seconds=seconds, maxiter=maxiter, progress=False,
                               checkpoint=keep, checkpoint_every=1, **overrides)
    total = time.perf_counter() - t0
    nit = report["nit"]
    kept.setdefault(nit, (x, report["optimize_time_s"], time.process_time() - cpu0))
    marks = []
    for it in sorted(kept):
        sig, t, cpu = kept[it]
        d = style_distance(sig, None, SR, style_grams=grams)
        marks.append({"iter": it, "time_s": round(t, 2), "cpu_s": round(cpu, 2),
                      "distance": round(d["style_distance"], 4),
                      "harmonic": round(d["style_distance_harmonic"], 4),
                      "rhythm": round(d["style_distance_rhythm"], 4),
                      "check": round(check_distance(sig, checks), 4)})
    return {"overrides": overrides, "nit": nit, "stop_reason": report["stop_reason"],
            "setup_time_s": report["setup_time_s"], "optimize_time_s":
            report["optimize_time_s"], "total_s": round(total, 2), "marks": marks}


def eval_cost(style: np.ndarray, seconds: float, variants: dict, repeats: int) -> dict:
    """Seconds per loss-and-gradient evaluation of each variant's objective, measured in
    turns (A, B, A, B, ...) so that a shared machine's load falls on all of them alike."""
    objs = {}
    for name, overrides in variants.items():
        cfg = TextureConfig(seconds=seconds, progress=False, **{
            k: v for k, v in overrides.items() if k != "init"})
        net = build_network(cfg, {"style": (style, style_branches(cfg))})
        objs[name] = texture_objective(cfg, net, [(style, 1.0)], int(round(seconds * SR)))
    x = np.random.default_rng(0).standard_normal(int(round(seconds * SR))) * 0.01
    times: dict = {name: [] for name in objs}
    cpu: dict = {name: [] for name in objs}
    for name, obj in objs.items():  # warm-up (JIT, caches)
        obj.terms_and_grad(x)
    for _ in range(repeats):
        for name, obj in objs.items():
            t, c = time.perf_counter(), time.process_time()
            obj.terms_and_grad(x)
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return {name: {"wall_s": round(float(np.median(times[name])), 4),
                   "cpu_s": round(float(np.median(cpu[name])), 4)} for name in objs}


def table(path: str, variants: list, at: tuple = (10, 30, 100, 300)) -> str:
    """A markdown table from the JSON lines of earlier runs: per signal and variant (in the
    order given), the distance at the marks (with the CPU seconds used by then) and the
    references (each signal's last run's)."""
    runs = [json.loads(line) for line in open(path)]
    rows = lab.head("style", "variant", *(f"{i} it" for i in at))
    done = []
    signals = list(dict.fromkeys(r["signal"] for r in runs))
    runs_in_order = sorted(runs, key=lambda r: (signals.index(r["signal"]),
                                                variants.index(r["variant"])
                                                if r["variant"] in variants else 0))
    for r in runs_in_order:
        if r["variant"] not in variants or (r["signal"], r["variant"]) in done:
            continue
        done.append((r["signal"], r["variant"]))
        marks = {m["iter"]: m for m in r["marks"]}
        def cell(m: dict) -> str:
            check = f" / {m['check']:.3f}" if "check" in m else ""
            return f"{m['distance']:.3f}{check} ({m['cpu_s']:.0f} s)"
        cells = [cell(marks[i]) if i in marks else "" for i in at]
        rows.append(f"| {r['signal']} | {r['variant']} | " + " | ".join(cells) + " |")
    refs = {r["signal"]: r["references"] for r in runs}
    rows.append("")
    names = ["noise", "spectral_noise", "templates", "random_phase", "shuffled", "halves"]
    rows += lab.head("style", "noise", "noise, style's spectrum", "templates start",
                     "random-phase copy", "shuffled 0.5 s chunks", "halves")
    for sig, ref in refs.items():
        cells = [f"{ref[k]:.3f}" + (f" / {ref[k + '_check']:.3f}" if k + "_check" in ref
                                    else "") if k in ref else "" for k in names]
        rows.append(f"| {sig} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def signal(name: str, args: argparse.Namespace, n: int) -> tuple:
    """(style, another n samples of the same recording) of a generated signal or a corpus
    clip (corpus:NAME: the whole clip, and its last n samples)."""
    if name.startswith("corpus:"):
        clip = lab.clip(args.corpus, name.split(":", 1)[1], SR)
        return clip, clip[-n:]
    record = RECORDINGS[name](args.style_seconds + args.seconds)
    style = record[:int(args.style_seconds * SR)]
    return style, record[len(style):len(style) + n]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0, help="texture length (default 5)")
    p.add_argument("--style-seconds", type=float, default=10.0, help="style length (10)")
    p.add_argument("--maxiter", type=int, default=300)
    p.add_argument("--signals", default="drums,melody,pad")
    p.add_argument("--variants", default="baseline,new",
                   help="comma list of names in VARIANTS, or NAME=JSON overrides")
    p.add_argument("--out", default=None, help="append one JSON line per run here")
    p.add_argument("--cost", type=int, default=0, metavar="N",
                   help="only time N evaluations of each variant's objective, in turns")
    p.add_argument("--corpus", metavar="DIR", default=None,
                   help="bench/corpus/render.py's folder: signals corpus:NAME are its clips")
    p.add_argument("--set", default=None, metavar="JSON",
                   help="overrides merged into every variant")
    p.add_argument("--table", metavar="JSONL", default=None,
                   help="only print the markdown table of --variants from earlier --out runs")
    p.add_argument("--at", default=None, metavar="ITERS",
                   help="with --table: the iterations it shows, comma-separated")
    args = p.parse_args(argv)
    if args.table:
        at = tuple(int(i) for i in args.at.split(",")) if args.at else (10, 30, 100, 300)
        print(table(args.table, args.variants.split(","), at))
        return 0
    variants = {}
    for v in args.variants.split(";" if "=" in args.variants else ","):
        name, _, js = v.partition("=")
        variants[name] = {**(json.loads(js) if js else VARIANTS[name]),
                          **(json.loads(args.set) if args.set else {})}
    if args.cost:
        style = RECORDINGS["drums"](args.style_seconds)
        print(json.dumps({"seconds_per_evaluation": eval_cost(style, args.seconds, variants,
                                                              args.cost)}))
        return 0
    n = int(args.seconds * SR)
    for sig in args.signals.split(","):
        style, other = signal(sig, args, n)
        grams = eval_grams(style, SR)
        checks = check_grams(style)
        refs = references(other, style, n, grams, checks)
        print(json.dumps({"signal": sig, "references": refs}), flush=True)
        for name, overrides in variants.items():
            res = run_variant(style, args.seconds, args.maxiter, overrides, grams, checks)
            line = {"signal": sig, "variant": name, "seconds": args.seconds,
                    "style_seconds": args.style_seconds, "references": refs, **res}
            lab.append_jsonl(args.out, line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
