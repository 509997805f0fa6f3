"""The suite runs one thread per process (tests/conftest.py): on a loaded 2-core machine
threads that wait on each other made it several times slower. The cpu backend's parallel
kernels (Numba kernels' and BLAS's blocks, kernels/cpu.py) are still run here on two threads
each, every kernel split however small its input, in a process of their own, against
numpy_ref: a kernel that is only right on one thread fails this test."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHECK = """
import numpy as np, randstyle.engine as engine, randstyle.kernels as kernels
from helpers import SMALL, objectives_agree
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.kernels import cpu
kernels.set_threads(2)
cpu.SHARE_MIN = 0  # every Numba kernel in two blocks, not only the large ones
assert kernels.n_threads() == 2
sr = SMALL["sr"]
content, style = plucked_melody(1.0, sr), drum_loop(2.0, sr)
x = np.random.default_rng(5).standard_normal(sr) * 0.05
for dtype in ("float32", "float64"):
    cfg = engine.NetworkConfig(**SMALL, dtype=dtype)
    objectives_agree(lambda backend: engine.Objective(
        engine.Network(cfg, backend=backend), content=content, style=style, l1_weight=0.1,
        autocorr_weight=1.0, autocorr_branches=("rhythm", "harmonic"), spectrum_weight=0.3),
        ("numpy", "cpu"), x, ("content", "style", "autocorr_rhythm", "total"), dtype)
print("ok")
"""


def test_the_cpu_backend_on_two_threads_agrees_with_numpy_ref():
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "OMP_NUM_THREADS": "2",
           "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
           "PYTHONPATH": os.pathsep.join([ROOT, os.path.join(ROOT, "tests")])}
    res = subprocess.run([sys.executable, "-c", CHECK], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-3000:]
