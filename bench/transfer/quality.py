"""The quality measure's scale and transfer's quality against time (docs/results/quality.md).

    python -m bench.transfer quality calibrate [--seconds 20]
    python -m bench.transfer quality transfer --seconds 10 --style drums --init content,noise \
        [--maxiter 300] [--log bench_quality.jsonl]
    python -m bench.transfer quality table [--log bench_quality.jsonl]

``calibrate`` measures reference sounds against each of three generated signals: unrelated
noise, noise with the signal's average spectrum, the signal's STFT magnitudes with random
phases, its second half against its first, and the content against itself. ``transfer`` runs
one default transfer per start (melody content, the named style), measuring every 10
iterations with the stops off, and appends each run to the log; ``table`` prints the table
from the log, with where today's and the new stop rules would have ended each run (the
L-BFGS-B path is the same up to a stop, so the stop is read off the recorded loss).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import time

import numpy as np

from bench import lab
from randstyle.engine import demo
from randstyle.engine.config import TransferConfig
from randstyle.engine.model.evaluate import (
    content_similarity,
    eval_grams,
    evaluate,
    style_distance,
)
from randstyle.engine.run.modes import transfer
from randstyle.engine.run.optimize import plateaued
from randstyle.engine.run.start import spectrum_noise
from randstyle.engine.signal import frame, hann_window, overlap_add

SR = 22050
CHECKPOINTS = (10, 30, 100, 300)
RULES = ((10, 0.01), (20, 0.01), (20, 0.02), (30, 0.01), (30, 0.03))


def signals(seconds: float) -> dict:
    """The three generated signals; the drum loop humanized so its halves differ."""
    return {"drums": demo.drum_loop(seconds, SR, variation=1.0),
            "melody": demo.plucked_melody(seconds, SR),
            "pad": demo.chord_pad(seconds, SR)}


def random_phase(x: np.ndarray, n_fft: int = 2048, hop: int = 512, seed: int = 7) -> np.ndarray:
    """The STFT magnitudes of x with uniformly random phases, overlap-added back, divided by
    the windows' summed square where frames overlap fully: dividing by it at the fading ends
    too put 190-230x-the-RMS clicks there (which moved the distances by up to 0.012)."""
    rng = np.random.default_rng(seed)
    w = hann_window(n_fft)
    frames = frame(np.asarray(x, np.float64), n_fft, hop)
    mag = np.abs(np.fft.rfft(frames * w, axis=1))
    phase = np.exp(2j * np.pi * rng.random(mag.shape))
    y = overlap_add(np.fft.irfft(mag * phase, n=n_fft, axis=1) * w, len(x), hop)
    return y / (np.sum(w * w) / hop)


def calibrate(seconds: float) -> None:
    half = int(seconds * SR) // 2
    rows = []
    for name, x in signals(seconds).items():
        ref, other = x[:half], x[half:2 * half]  # every reference is measured against ref
        grams = eval_grams(ref, SR)
        cfg = TransferConfig(seed=3)
        candidates = {
            "noise": np.random.default_rng(5).standard_normal(half) * np.std(ref),
            "noise, style's spectrum": spectrum_noise(half, [(ref, 1.0)], cfg),
            "random-phase STFT": random_phase(ref),
            "other half": other,
            "itself": ref,
            "itself, 6 dB quieter": ref / 2,  # 0 when the measure is free of the level
        }
        row = {"signal": name}
        for label, y in candidates.items():
            row[label] = style_distance(y.astype(np.float32), None, SR,
                                        style_grams=grams)["style_distance"]
        row["content: itself"] = content_similarity(ref, ref, SR)
        row["content: other half"] = content_similarity(other, ref, SR)
        row["content: noise"] = content_similarity(candidates["noise"], ref, SR)
        rows.append(row)
    keys = list(rows[0])[1:]
    print(f"style distance (and content similarity) against {seconds / 2:g} s of each signal")
    print("\n".join(lab.head("signal", *keys)))
    for row in rows:
        print(f"| {row['signal']} | " + " | ".join(f"{row[k]:.3f}" for k in keys) + " |")


def run_transfer(seconds: float, style: str, inits: list, maxiter: int, log: str,
                 settings: dict | None = None, label: str = "") -> None:
    """One run per start. The measure is taken every 10 iterations from the checkpoint hook
    (its time subtracted from the run's clock, as --eval-every does) so that a run's record,
    rewritten at each measurement to LOG.STYLE.INIT.partial, survives a run cut short.
    ``settings`` override TransferConfig fields; ``label`` names them in the log and table."""
    settings = settings or {}
    content = demo.plucked_melody(seconds, SR)
    style_x = {"drums": demo.drum_loop(seconds, SR, variation=1.0),
               "pad": demo.chord_pad(seconds, SR)}[style]
    grams = eval_grams(style_x, SR)
    for init in inits:
        began = time.perf_counter()
        name = f"{init} {label}".strip()
        record = {"seconds": seconds, "style": style, "init": name, "maxiter": maxiter,
                  "settings": settings,
                  "loss": [], "quality_history": [], "partial": True}
        partial = f"{log}.{seconds:g}.{style}.{name.replace(' ', '_')}.partial"
        measuring = [0.0]

        def measure(x, history, record=record, partial=partial, measuring=measuring):
            t0 = time.perf_counter()
            q = evaluate(np.asarray(x, np.float32), SR, style_grams=grams, content=content)
            last = history[-1]
            record["quality_history"].append({"iter": last["iter"], "nfev": last["nfev"],
                                              "time_s": last["time_s"] - measuring[0], **q})
            record["loss"] = [(h["iter"], h["time_s"] - _measured_before(record, h["iter"]),
                               h["total"], h["nfev"]) for h in history]
            with open(partial, "w") as f:
                f.write(json.dumps(record) + "\n")
            measuring[0] += time.perf_counter() - t0
            record["measuring"] = record.get("measuring", []) + [(last["iter"], measuring[0])]

        _, report = transfer(content, style_x, TransferConfig(
            init=init, maxiter=maxiter, patience=0, progress=True, checkpoint_every=10,
            **settings),
            checkpoint=measure)
        record["loss"] = [(h["iter"], h["time_s"] - _measured_before(record, h["iter"]),
                           h["total"], h["nfev"]) for h in report["iterations"]]
        if record["quality_history"][-1:] and \
                record["quality_history"][-1]["iter"] != report["nit"]:
            last = record["loss"][-1]
            record["quality_history"].append({"iter": last[0], "nfev": last[3],
                                              "time_s": last[1], **report["quality"]})
        record.update(partial=False, quality=report["quality"],
                      optimize_time_s=report["optimize_time_s"] - measuring[0],
                      setup_time_s=report["setup_time_s"],
                      wall_time_s=round(time.perf_counter() - began, 2),
                      stop_reason=report["stop_reason"])
        with open(log, "a") as f:
            f.write(json.dumps(record) + "\n")
        os.remove(partial)
        print(f"{seconds:g} s {style} init={name}: {report['quality']} "
              f"in {record['optimize_time_s']:.1f} s", flush=True)


def _measured_before(record: dict, it: int) -> float:
    """Seconds spent measuring before iteration ``it`` (taken out of its time)."""
    done = [t for i, t in record.get("measuring", []) if i < it]
    return done[-1] if done else 0.0


def stop_at(loss: list, patience: int, min_improvement: float) -> int:
    """The iteration at which the plateau rule would end a run with this loss history."""
    history = []
    for it, _, total, *_ in loss:
        history.append({"total": total})
        if plateaued(history, patience, min_improvement):
            return it
    return loss[-1][0]


def at(record: dict, it: int) -> dict | None:
    """The measurement at iteration ``it`` (the last one at or before it) with its time."""
    got = [q for q in record["quality_history"] if q["iter"] <= it]
    return got[-1] if got else None


def first_reaching(record: dict, distance: float) -> dict | None:
    return next((q for q in record["quality_history"] if q["style_distance"] <= distance), None)


def table(log: str, patience: int, min_improvement: float) -> None:
    records = [json.loads(line) for line in open(log)] if os.path.exists(log) else []
    for partial in sorted(glob.glob(f"{log}.*.partial")):  # runs still going or cut short
        records += [json.loads(line) for line in open(partial)]
    print("\n".join(lab.head("clip", "style", "start", *(f"it {i}" for i in CHECKPOINTS),
                              f"plateau stop ({patience}, {min_improvement:g})")))
    for r in records:
        cells = []
        for i in CHECKPOINTS:
            q = at(r, i) if i <= r["loss"][-1][0] else None
            cells.append("-" if q is None else
                         f"{q['style_distance']:.3f} / {q['content_similarity']:.3f} "
                         f"({q['time_s']:.0f} s)")
        it = stop_at(r["loss"], patience, min_improvement)
        q = at(r, it)
        t = next(e[1] for e in r["loss"] if e[0] == it)
        stop = f"it {it}, {t:.0f} s" + (f": {q['style_distance']:.3f} / "
                                        f"{q['content_similarity']:.3f} (at it {q['iter']})"
                                        if q else "")
        print(f"| {r['seconds']:g} s | {r['style']} | {r['init']}"
              + (f" (cut at it {r['loss'][-1][0]})" if r.get("partial") else "") + " | "
              + " | ".join(cells)
              + f" | {stop} |")
    print("\ncells: style distance / content similarity (optimization seconds, measuring "
          "excluded)")
    print("\nwhere other plateau rules (patience, min improvement) would stop each run:")
    for r in records:
        cells = []
        for p, tol in RULES:
            it = stop_at(r["loss"], p, tol)
            q = at(r, it)
            cells.append(f"({p}, {tol:g}): it {it}" + (f" {q['style_distance']:.3f}/"
                                                       f"{q['content_similarity']:.3f}"
                                                       if q else ""))
        print(f"{r['seconds']:g} s {r['style']} {r['init']}: " + "; ".join(cells))
    for r in records:  # the target: today's 300-iteration distance, how soon per start
        if not (r["init"] == "noise" or "old default" in r["init"]) or r["loss"][-1][0] < 300:
            continue
        base = at(r, 300)
        for o in records:
            if (o["seconds"], o["style"]) == (r["seconds"], r["style"]) and o is not r:
                q = first_reaching(o, base["style_distance"])
                print(f"{r['seconds']:g} s {r['style']}: noise@300 {base['style_distance']:.3f}"
                      f" / {base['content_similarity']:.3f} in {base['time_s']:.0f} s; "
                      f"{o['init']} reaches it " + (
                          f"at it {q['iter']} in {q['time_s']:.0f} s "
                          f"({q['time_s'] / base['time_s']:.2f}x the time, "
                          f"{q['nfev'] / base['nfev']:.2f}x the evaluations), content "
                          f"{q['content_similarity']:.3f}" if q else "not within its run"))


def main(argv: list | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=["calibrate", "transfer", "table"])
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--style", default="drums", choices=["drums", "pad"])
    p.add_argument("--init", default="content,noise")
    p.add_argument("--maxiter", type=int, default=300)
    p.add_argument("--log", default="bench_quality.jsonl")
    p.add_argument("--set", default="{}", help="TransferConfig overrides as JSON, e.g. "
                   '\'{"content_weight": 0.5}\'')
    p.add_argument("--label", default="", help="names the --set overrides in the table")
    p.add_argument("--patience", type=int, default=TransferConfig.patience)
    p.add_argument("--min-improvement", type=float, default=TransferConfig.min_improvement)
    a = p.parse_args(argv)
    if a.what == "calibrate":
        calibrate(a.seconds or 20.0)
    elif a.what == "transfer":
        run_transfer(a.seconds or 10.0, a.style, a.init.split(","), a.maxiter, a.log,
                     json.loads(a.set), a.label)
    else:
        table(a.log, a.patience, a.min_improvement)

