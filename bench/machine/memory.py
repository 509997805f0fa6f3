"""The memory estimate (engine/model/memory.py) against the measured peak RSS of whole CLI runs
on the cpu backend: a 10 s texture with its default three networks, and a 10 s transfer with
one network and with --networks 3, each in a child process of its own.

``python -m bench.machine memory [--maxiter 25]``: prints a markdown table (estimate, peak,
their ratio). Past maxcor (20) iterations L-BFGS-B's vectors are all written, so 25 reaches
the peak the estimate is for.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import lab
from randstyle import engine
from randstyle.engine import audio
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.model import memory

SR = 22050
MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
           "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
RUNS = {"texture 10 s, 3 networks (default)": ("texture", {}),
        "transfer 10 s, 1 network (default)": ("transfer", {}),
        "transfer 10 s, --networks 3": ("transfer", {"networks": 3})}


def peak_bytes(argv: list) -> int:
    """ru_maxrss of a CLI run, through a parent of its own (RUSAGE_CHILDREN of this process
    would hold the largest of every run before)."""
    out = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "randstyle",
                          *argv], capture_output=True, text=True, check=True).stdout
    code, kib = map(int, out.split()[-2:])
    if code:
        raise SystemExit(f"the run {argv} exited {code}")
    return kib * 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--maxiter", type=int, default=25)
    args = p.parse_args(argv)
    rows = lab.head("run", "estimate MiB", "peak RSS MiB", "estimate / peak")
    with tempfile.TemporaryDirectory() as tmp:
        content, style = Path(tmp) / "c.wav", Path(tmp) / "s.wav"
        audio.write_wav(str(content), plucked_melody(10.0, SR), SR)
        audio.write_wav(str(style), drum_loop(20.0, SR), SR)
        common = {"maxiter": args.maxiter, "threads": 1}
        for name, (mode, opts) in RUNS.items():
            opts = {**common, **opts}
            if mode == "texture":
                cfg = engine.TextureConfig(seconds=10.0, eval_every=0, eval_patience=0, **opts)
                cli = ["texture", str(style), "--seconds", "10", "--eval-every", "0",
                       "--eval-patience", "0"]
            else:
                cfg = engine.TransferConfig(patience=0, **opts)
                cli = ["transfer", str(content), str(style), "--patience", "0"]
            cli += [a for k, v in opts.items() for a in (f"--{k.replace('_', '-')}", str(v))]
            peak = peak_bytes([*cli, "-o", str(Path(tmp) / "o.wav"), "--overwrite", "-q"])
            est = memory.estimate_bytes(cfg, 10 * SR, [20 * SR])
            rows.append(f"| {name} | {est / 2**20:.0f} | {peak / 2**20:.0f} | "
                        f"{est / peak:.2f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    print("\n".join(rows))
    return 0

