"""``python -m bench.machine worker-memory``: a long-lived batch worker's resident memory over 20
rows, each with its own network seed and a style of another length and level (cpu backend, 1024
filters, 5 s content, three evaluations a row): issue 22 asks the RSS after 20 rows within
10 % of the RSS after the first. Exits 1 when it is not."""
import argparse
import ctypes
import gc
import os

import numpy as np

from randstyle import engine

SR = 22050


def rss_mib() -> float:
    """This process's resident set now (not the peak: what stays after each row). Freed heap
    is first handed back to the system (glibc's malloc_trim), so the figure counts what the
    worker keeps alive, not what the allocator happens to hold on to."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the raw figure
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_row(row: int, content: np.ndarray, rng: np.random.Generator) -> None:
    cfg = engine.NetworkConfig(n_filters=1024, rhythm_filters=1024, seed=row, sr=SR)
    net = engine.Network(cfg, backend="cpu")
    style = rng.standard_normal((10 + row % 5) * SR) * (0.05 + 0.01 * row)
    obj = engine.Objective(net, content=content, style=style, content_weight=1.0)
    for _ in range(3):
        obj.terms_and_grad(content)


def main(argv: list | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    rng = np.random.default_rng(0)
    content = rng.standard_normal(5 * SR) * 0.1
    after = []
    for row in range(20):
        run_row(row, content, rng)
        gc.collect()
        after.append(rss_mib())
    ratio = after[-1] / after[0]
    print(f"RSS after rows 1, 5, 10, 20: {after[0]:.1f}, {after[4]:.1f}, {after[9]:.1f}, "
          f"{after[19]:.1f} MiB; row 20 / row 1 = {ratio:.3f}")
    return 0 if ratio <= 1.1 else 1

