"""``python -m bench.separation memory SECONDS MAXITER``: a separation of a two-source demo mix
(defaults, cpu backend, one thread) and its peak RSS against engine/model/memory.py's
estimate; docs/gpu.md quotes it."""
import argparse
import resource
import time

from randstyle import engine
from randstyle.engine.demo import chord_pad, plucked_melody
from randstyle.engine.model import memory


def measure(seconds: float, maxiter: int, sr: int = 22050) -> str:
    mix = plucked_melody(seconds, sr, seed=3) + chord_pad(seconds, sr, seed=4)
    examples = {"melody": plucked_melody(seconds, sr, seed=5),
                "pad": chord_pad(seconds, sr, seed=6)}
    cfg = engine.SeparateConfig(method="statistics", backend="cpu", maxiter=maxiter,
                                progress=False, threads=1)
    started = time.process_time()
    report = engine.separate(mix, examples, cfg)[1]
    estimate = memory.estimate_bytes(cfg, len(mix), [len(x) for x in examples.values()], 2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return (f"{seconds:g} s, {report['nit']} iterations: peak RSS {peak / 2**20:.0f} "
            f"MiB, estimate {estimate / 2**20:.0f} MiB ({estimate / peak:.2f}x), "
            f"{time.process_time() - started:.0f} CPU s")



def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("seconds", type=float, help="the mix's length")
    p.add_argument("maxiter", type=int, help="L-BFGS-B iterations")
    args = p.parse_args(argv)
    print(measure(args.seconds, args.maxiter))
    return 0
