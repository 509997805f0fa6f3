"""Listen-check of a rendered corpus by numbers: ``python -m bench.corpus check --dir DIR``.

Per file: RMS (dBFS), peak, the share of 100 ms frames more than 40 dB below the file's
loudest frame (silence), and the spectral centroid (Hz); per mix the largest deviation of
the stems' sum from the mix and each stem's correlation with its example (which must be
another passage: near 0). Prints a markdown table; exits 1 if a check fails.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import numpy as np
import soundfile as sf

from bench import lab


def stats(x: np.ndarray, sr: int) -> dict:
    """RMS dBFS, peak, silent share of 100 ms frames, spectral centroid in Hz."""
    hop = sr // 10
    frames = x[:len(x) // hop * hop].reshape(-1, hop)
    frame_db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20)
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    return {"rms_db": 10 * np.log10(np.mean(x ** 2) + 1e-20), "peak": float(np.max(np.abs(x))),
            "silent": float(np.mean(frame_db < frame_db.max() - 40)),
            "centroid": float(np.sum(freqs * spec) / np.sum(spec))}


def check(dir: str) -> List[str]:
    """Print the table; return the failures."""
    c = lab.load_corpus(dir)
    sr, bad = c["sr"], []
    print(f"source: {c['source']}, sr {sr}\n")
    print("\n".join(lab.head("file", "RMS dBFS", "peak", "silent", "centroid Hz",
                              "corr. with example")))

    def row(name: str, path: str, corr: str = "") -> None:
        x = sf.read(path, dtype="float64")[0]
        s = stats(x, sr)
        print(f"| {name} | {s['rms_db']:.1f} | {s['peak']:.2f} | {s['silent']:.2f} "
              f"| {s['centroid']:.0f} | {corr} |")
        if s["peak"] >= 1.0 or s["silent"] > 0.25 or s["rms_db"] < -40:
            bad.append(f"{name}: {s}")

    for m in c["mixes"]:
        mix = sf.read(m["mix"], dtype="float64")[0]
        total = sum(sf.read(p, dtype="float64")[0] for p in m["stems"].values())
        err = float(np.max(np.abs(total - mix)))
        row(f"{m['name']} mix (sum err {err:.1e})", m["mix"])
        if err > 1e-5:
            bad.append(f"{m['name']}: stems do not sum to the mix ({err})")
        for inst, p in m["stems"].items():
            x = sf.read(p, dtype="float64")[0]
            e = sf.read(m["examples"][inst], dtype="float64")[0][:len(x)]
            corr = float(np.corrcoef(x[:len(e)], e)[0, 1])
            row(f"{m['name']}/{inst}", p, f"{corr:+.3f}")
            if abs(corr) > 0.2:
                bad.append(f"{m['name']}/{inst}: example correlates {corr}")
    for inst in sorted({i for m in c["mixes"] for i in m["examples"]}):
        row(f"example {inst}", next(m["examples"][inst] for m in c["mixes"]
                                      if inst in m["examples"]))
    for name, p in c["clips"].items():
        row(f"clip {name} ({sf.info(p).duration:.0f} s)", p)
    return bad


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="the corpus folder (rendered if absent)")
    bad = check(ap.parse_args(argv).dir)
    for b in bad:
        print(f"FAIL {b}", file=sys.stderr)
    return 1 if bad else 0

