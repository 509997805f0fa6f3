"""``python -m bench.machine import-order``: the cpu backend's evaluation time in fresh processes
that import NumPy and SciPy before the engine, and ones that import the engine first, alternated.

Issue 12 asks for the same time either way, with no environment variables set by the user.
Each process times ``Objective.value_and_grad`` of the bench's default objective (best of
``--repeat``, wall and process CPU time); rounds alternate the two orders so that a machine
getting busier does not favour one. Options: --seconds, --style-seconds, --n-filters, --repeat,
--rounds (defaults: the bench's sizes, 5, 2).
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = """
import sys
if sys.argv[1] == "numpy":
    import numpy, scipy.linalg  # noqa: F401  loaded before the engine, as most programs do
numpy_first = "numpy" in sys.modules
from randstyle import engine  # noqa: F401
import json, time
from randstyle.engine.bench.harness import BenchConfig, _network_and_inputs
cfg = BenchConfig(seconds=float(sys.argv[2]), style_seconds=float(sys.argv[3]),
                  n_filters=int(sys.argv[4]))
net, obj, x, _ = _network_and_inputs(cfg, "cpu")
obj.value_and_grad(x)
wall = cpu = float("inf")
for _ in range(int(sys.argv[5])):
    t, p = time.perf_counter(), time.process_time()
    obj.value_and_grad(x)
    wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - p)
print(json.dumps({"numpy_first": numpy_first, "wall_s": wall, "cpu_s": cpu,
                  "algorithms": obj.style_algorithms}))
"""


def main(argv: list | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--style-seconds", type=float, default=30.0)
    p.add_argument("--n-filters", type=int, default=4096)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args(argv)
    results = {"numpy": [], "engine": []}
    for _ in range(a.rounds):
        for first in results:
            res = subprocess.run([sys.executable, "-c", CHILD, first, str(a.seconds),
                                  str(a.style_seconds), str(a.n_filters), str(a.repeat)],
                                 capture_output=True, text=True, cwd=ROOT, check=True)
            r = json.loads(res.stdout.strip().splitlines()[-1])
            assert r["numpy_first"] == (first == "numpy"), r
            results[first].append(r)
    for first, runs in results.items():
        print(f"{first} imported first: wall " + ", ".join(f"{r['wall_s']:.3f}" for r in runs)
              + " s; CPU " + ", ".join(f"{r['cpu_s']:.3f}" for r in runs)
              + f" s per evaluation ({runs[0]['algorithms']})")
    best = {first: min(r["wall_s"] for r in runs) for first, runs in results.items()}
    print(f"best wall, NumPy first / engine first: {best['numpy'] / best['engine']:.2f}")

