"""The seed's phase claim, measured: content-only reconstruction from noise (a) in the time
domain through the DFT conv, (b) on the log-magnitude spectrogram, then Griffin-Lim.

``python -m bench.transfer reconstruct [--seconds 3] [--n-filters 1024] [--budgets 50,200]``
prints a markdown table and writes it under bench/results/.
"""
import argparse
import sys

import numpy as np

from bench import lab
from bench.lab import write_markdown
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.run.reconstruct import reconstruct


def signals(seconds: float, sr: int) -> dict:
    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    vibrato = np.sin(2 * np.pi * 440 * t + 3 * np.sin(2 * np.pi * 5 * t)) * (0.6 + 0.4 * t / t[-1])
    rng = np.random.default_rng(0)
    bursts = rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 2 * t) > 0.7)
    return {"plucked melody": plucked_melody(seconds, sr), "drum loop": drum_loop(seconds, sr),
            "chord": 0.3 * chord / 3, "vibrato tone": 0.4 * vibrato,
            "noise bursts": 0.3 * bursts}


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--n-filters", type=int, default=1024)
    p.add_argument("--budgets", default="50,200", help="L-BFGS-B iterations, comma-separated")
    p.add_argument("--griffin-lim-iters", type=int, default=100)
    p.add_argument("--out", default=str(lab.RESULTS))
    a = p.parse_args(argv)
    sr = 22050
    rows = lab.head("signal", "L-BFGS-B budget", "time domain: SC", "time (s)",
                    "spectrogram: iterations used", "its magnitude's SC",
                    f"after Griffin-Lim ({a.griffin_lim_iters} it.): SC", "time (s)")
    for name, x in signals(a.seconds, sr).items():
        for budget in (int(b) for b in a.budgets.split(",")):
            _, rep = reconstruct(x.astype(np.float32), sr=sr, n_filters=a.n_filters,
                                 maxiter=budget, griffin_lim_iters=a.griffin_lim_iters,
                                 progress=False)
            t, g = rep["results"]["time"], rep["results"]["griffinlim"]
            rows.append(f"| {name} | {budget} | {t['spectral_convergence']:.3f} | "
                        f"{t['wall_time_s']:.1f} | {g['lbfgs_iterations']} | "
                        f"{g['magnitude_spectral_convergence']:.3f} | "
                        f"{g['spectral_convergence']:.3f} | {g['wall_time_s']:.1f} |")
            print(rows[-1], file=sys.stderr)
    table = "\n".join(rows)
    header = (f"{a.seconds:g} s clips at {sr} Hz, n_fft 2048, hop 512, {a.n_filters} filters, "
              f"backend {rep['backend']}. SC: spectral convergence || |STFT(y)| - |STFT(x)| ||_F / "
              "|| |STFT(x)| ||_F, lower is better.\n\n")
    write_markdown(a.out, "reconstruct", header + table)
    return 0

