"""``python -m bench.machine conv-rate``: the harmonic conv (cpu backend, bench sizes) against the
4096² sgemm rate, forward and backward, in one process, in a few seconds.

The issue-12 target is each direction within 1.1x of the sgemm time of its FLOPs. Printed
twice: wall time against the best sgemm rate (NumPy's threaded BLAS, or the backend's own
blocks, whichever is faster: the roofline), and process CPU time per FLOP (both cores summed),
which other jobs on a shared machine move less; CPU time does not count cores left idle, so
only the wall ratio on an idle machine answers the target.
"""
import argparse
import time

import numpy as np  # before the engine, as a program using randstyle would import it

from randstyle.kernels import cpu, cpu_blas


def best(f, repeat: int) -> tuple:
    """(wall, CPU) seconds, the best of ``repeat`` runs after a warm-up."""
    f()
    wall = cpu_time = float("inf")
    for _ in range(repeat):
        t, p = time.perf_counter(), time.process_time()
        f()
        wall = min(wall, time.perf_counter() - t)
        cpu_time = min(cpu_time, time.process_time() - p)
    return wall, cpu_time


def main(argv: list | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    repeat = p.parse_args(argv).repeat
    rng = np.random.default_rng(0)
    n = 4096
    a = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty_like(a)
    # The bench's harmonic conv: 10 s at hop 512 (427 frames), 1025 bins, width 11, 4096.
    X = np.abs(rng.standard_normal((427, 1025), dtype=np.float32))
    W = rng.standard_normal((11, 1025, 4096), dtype=np.float32) * 0.01
    A, cache = cpu.conv1d_relu_forward(X, W)
    conv_flop = 2.0 * A.shape[0] * 1025 * 11 * 4096
    sgemm = {"numpy": best(lambda: np.matmul(a, a, out=c), repeat),
             "blocks": best(lambda: cpu_blas.gemm(1.0, a, a, 0.0, c), repeat)}
    conv = {"forward": best(lambda: cpu.conv1d_relu_forward(X, W), repeat),
            "backward": best(lambda: cpu.conv1d_relu_backward(A, cache), repeat)}
    flop = 2.0 * n ** 3
    wall_rate = max(flop / s[0] for s in sgemm.values())
    cpu_rate = max(flop / s[1] for s in sgemm.values())
    print(f"4096² sgemm: {wall_rate / 1e9:.1f} GFLOP/s wall (numpy "
          f"{flop / sgemm['numpy'][0] / 1e9:.1f}, blocks {flop / sgemm['blocks'][0] / 1e9:.1f}),"
          f" {cpu_rate / 1e9:.1f} GFLOP per CPU-second")
    for name, (wall, cpu_time) in conv.items():
        print(f"harmonic conv {name}: {wall * 1e3:.1f} ms wall, {wall * wall_rate / conv_flop:.2f}x"
              f" the sgemm time of its {conv_flop / 1e9:.1f} GFLOP; CPU time "
              f"{cpu_time * cpu_rate / conv_flop:.2f}x")

