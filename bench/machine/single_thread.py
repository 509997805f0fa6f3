"""``python -m bench.machine single-thread``: one thread, CPU time, the cpu backend against the
dense floor at the single-thread 4096² sgemm rate.

Both sides measured as this process's CPU time with every pool (BLAS, Numba, the GEMM blocks)
at one thread, so other jobs sharing the machine barely move the ratio: a load-robust check of
``bench``'s "x dense floor" (which on a quiet machine also includes how well both scale).
"""
import argparse
import time

import numpy as np  # before the engine, as a program using randstyle would import it

from randstyle import kernels
from randstyle.engine.bench.harness import BenchConfig, _network_and_inputs, flop_count


def cpu_best(f, repeat: int = 3) -> float:
    f()
    times = []
    for _ in range(repeat):
        t = time.process_time()
        f()
        times.append(time.process_time() - t)
    return min(times)


def main(argv: list | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    kernels.set_threads(1)
    net, obj, x, _ = _network_and_inputs(BenchConfig(), "cpu")
    n = 4096
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    rate = 2.0 * n ** 3 / cpu_best(lambda: a @ a)
    t = cpu_best(lambda: obj.value_and_grad(x))
    T = 1 + (len(x) - net.config.n_fft) // net.config.hop_length
    dense = sum(flop_count(T, net).values())
    print(f"one thread, CPU time: 4096² sgemm {rate / 1e9:.1f} GFLOP/s; dense algorithm "
          f"{dense / 1e9:.1f} GFLOP, floor {dense / rate:.3f} s; evaluation {t:.3f} s "
          f"({t * rate / dense:.2f}x the dense floor; style: {obj.style_algorithms})")

